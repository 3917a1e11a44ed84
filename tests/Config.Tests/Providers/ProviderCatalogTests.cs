using Broker.Config.Providers;

namespace Broker.Config.Tests.Providers;

public sealed class ProviderCatalogTests
{
    [Fact]
    public void Find_AliasOrName_ReturnsTheSameDescriptor()
    {
        Assert.Same(BuiltInProviders.Cohere, ProviderCatalog.Find("cohere_chat"));
        Assert.Same(BuiltInProviders.Cohere, ProviderCatalog.Find("cohere"));
        Assert.Null(ProviderCatalog.Find("mistralai"));
    }

    [Fact]
    public void Register_PrefixAlreadyTaken_Throws()
    {
        var clash = new ProviderDescriptor { Name = "catalog-test-" + Guid.NewGuid().ToString("N"), Aliases = ["openai"] };

        var error = Assert.Throws<InvalidOperationException>(() => ProviderCatalog.Register(clash));

        Assert.Equal("provider prefix 'openai' is already registered (by 'openai')", error.Message);
        Assert.Null(ProviderCatalog.Find(clash.Name));
    }

    [Fact]
    public void Register_NewDescriptor_IsKnownByNameAndAliasAndIdempotent()
    {
        var name = "catalog-test-" + Guid.NewGuid().ToString("N");
        var descriptor = new ProviderDescriptor { Name = name, Aliases = [name + "_chat"], ApiKeyVariables = ["CATALOG_TEST_KEY"] };

        ProviderCatalog.Register(descriptor);
        ProviderCatalog.Register(descriptor);

        Assert.Same(descriptor, ProviderCatalog.Find(name + "_chat"));
        Assert.Contains(name, ProviderCatalog.Known);
    }

    [Theory]
    [InlineData("temperature", true)]
    [InlineData("logit_bias", false)]
    [InlineData("top_k", true)]
    public void Supports_OnlyOpenAiParamsAreChecked(string param, bool expected) =>
        Assert.Equal(expected, BuiltInProviders.Anthropic.Supports(param));
}

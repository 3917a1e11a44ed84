using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Config.Tests.Loading;

public sealed class GuardrailsReaderTests
{
    [Fact]
    public void Load_SeedGuardrails_LoadsWithoutErrorsAndIsActive()
    {
        var result = Fixtures.Load("seed-guardrails.yaml", new Dictionary<string, string> { ["LAKERA_API_KEY"] = "lk-1" });

        Assert.Empty(Fixtures.Lines(result, ConfigSeverity.Error));
        Assert.DoesNotContain(result.Diagnostics, d => d.Message == ConfigFeatures.NotActiveMessage);
        var guardrails = result.Config!.Guardrails;
        Assert.Equal(["prompt_injection", "pii_masking", "hide_secrets_guard"], guardrails.Select(g => g.Name));
        Assert.Equal([GuardrailTypes.Lakera, GuardrailTypes.Presidio, GuardrailTypes.HideSecrets], guardrails.Select(g => g.Guardrail));
        Assert.Equal("https://api.lakera.ai", guardrails[0].ApiBase);
        Assert.Equal("lk-1", guardrails[0].ApiKey!.Value);
        Assert.All(guardrails, g => Assert.Equal(GuardrailModes.PreCall, g.Modes));
    }

    [Fact]
    public void Load_TopLevelList_ReadsModesEnvAndParams()
    {
        var result = Fixtures.Text("""
            model_list: [{model_name: m, litellm_params: {model: openai/m, api_key: k}}]
            guardrails:
              - guardrail_name: web
                litellm_params:
                  guardrail: generic_guardrail_api
                  mode: [pre_call, post_call]
                  api_base: os.environ/GUARD_BASE
                  api_key: os.environ/GUARD_KEY
                  additional_provider_specific_params: {level: high}
                default_on: true
              - guardrail_name: inj
                litellm_params: {guardrail: detect_prompt_injection, mode: during_call}
            """, new Dictionary<string, string> { ["GUARD_BASE"] = "http://127.0.0.1:5000", ["GUARD_KEY"] = "gk" });

        Assert.Empty(Fixtures.Lines(result, ConfigSeverity.Error));
        var web = result.Config!.Guardrails[0];
        Assert.Equal(GuardrailModes.PreCall | GuardrailModes.PostCall, web.Modes);
        Assert.True(web.DefaultOn);
        Assert.Equal("http://127.0.0.1:5000", web.ApiBase);
        Assert.Equal("gk", web.ApiKey!.Value);
        Assert.True(web.Params.ContainsKey("additional_provider_specific_params"));
        Assert.Equal(GuardrailModes.DuringCall, result.Config.Guardrails[1].Modes);
        Assert.False(result.Config.Guardrails[1].DefaultOn);
    }

    [Fact]
    public void Load_BadGuardrails_ReportsEveryProblemAtOnce()
    {
        var result = Fixtures.Text("""
            model_list: [{model_name: m, litellm_params: {model: openai/m, api_key: k}}]
            litellm_settings:
              guardrails:
                - dup: {callbacks: [no_such_thing]}
            guardrails:
              - guardrail_name: a
                litellm_params: {guardrail: aporia, mode: pre_call}
              - guardrail_name: b
                litellm_params: {guardrail: hide_secrets, mode: [during_call, sometimes]}
              - guardrail_name: c
                litellm_params: {guardrail: generic_guardrail_api, mode: pre_call}
              - litellm_params: {guardrail: pii_masking}
              - guardrail_name: c
                litellm_params: {guardrail: pii_masking}
            """);

        var errors = Fixtures.Lines(result, ConfigSeverity.Error);
        // a kind Broker does not run is a warning (its requests fail closed), as LiteLLM starts with it
        var warnings = Fixtures.Lines(result, ConfigSeverity.Warning);
        Assert.Contains("guardrail 'no_such_thing' is not run by Broker", warnings, StringComparison.Ordinal);
        Assert.Contains("guardrail 'aporia' is not run by Broker", warnings, StringComparison.Ordinal);
        Assert.DoesNotContain("aporia", errors, StringComparison.Ordinal);
        Assert.Contains("unknown mode 'sometimes'", errors, StringComparison.Ordinal);
        Assert.Contains("cannot happen beside the call", errors, StringComparison.Ordinal);
        Assert.Contains("needs litellm_params.api_base: requests it guards fail closed (503)", warnings, StringComparison.Ordinal);
        Assert.Contains("guardrails[3].guardrail_name", errors, StringComparison.Ordinal);
        Assert.Contains("guardrail 'c' is defined twice", errors, StringComparison.Ordinal);
    }
}

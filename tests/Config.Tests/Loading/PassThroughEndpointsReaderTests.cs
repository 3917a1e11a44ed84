using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>general_settings.pass_through_endpoints: LiteLLM's keys read into one immutable record each; every problem reported at once.</summary>
public sealed class PassThroughEndpointsReaderTests
{
    private const string Models = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n";

    [Fact]
    public void Load_LiteLlmRerankExample_ReadsEveryKeyWithSecretsFromEnvironment()
    {
        var yaml = Models + """
            general_settings:
              master_key: sk-1234
              pass_through_endpoints:
                - path: "/v1/rerank"
                  target: "https://api.cohere.com/v1/rerank"
                  headers:
                    Authorization: "bearer os.environ/COHERE_API_KEY"
                    content-type: application/json
                    x-raw: os.environ/RAW_TOKEN
                  forward_headers: True
                  include_subpath: true
                  cost_per_request: 0.05
                - path: /bria/
                  target: https://engine.prod.bria-api.com
                  auth: false
                  methods: [get, POST]
            """;
        var env = new Dictionary<string, string> { ["COHERE_API_KEY"] = "co-123", ["RAW_TOKEN"] = "raw-456" };

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", name => env.GetValueOrDefault(name));

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity != ConfigSeverity.Info);
        var endpoints = result.Config!.GeneralSettings.PassThroughEndpoints;
        Assert.Equal(2, endpoints.Count);
        var rerank = endpoints[0];
        Assert.Equal("/v1/rerank", rerank.Path);
        Assert.Equal(new Uri("https://api.cohere.com/v1/rerank"), rerank.Target);
        Assert.Equal("bearer co-123", rerank.Headers["Authorization"].Value);
        Assert.Equal("application/json", rerank.Headers["content-type"].Value);
        Assert.Equal("raw-456", rerank.Headers["x-raw"].Value);
        Assert.True(rerank.ForwardHeaders);
        Assert.True(rerank.IncludeSubpath);
        Assert.True(rerank.Auth);
        Assert.Equal(0.05m, rerank.CostPerRequest);
        Assert.Empty(rerank.Methods);
        var bria = endpoints[1];
        Assert.Equal("/bria", bria.Path);
        Assert.False(bria.Auth);
        Assert.False(bria.ForwardHeaders);
        Assert.False(bria.IncludeSubpath);
        Assert.Null(bria.CostPerRequest);
        Assert.Equal(["GET", "POST"], bria.Methods);
        Assert.DoesNotContain("co-123", rerank.Headers["Authorization"].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadEntries_ReportsEveryProblemAtOnceWithItsPath()
    {
        var yaml = Models + """
            general_settings:
              pass_through_endpoints:
                - {path: /ok, target: "http://127.0.0.1:9/ok"}
                - {path: /bad-target, target: "not a url"}
                - {path: /ftp, target: "ftp://files.example.com/x"}
                - {path: /OK/, target: "http://127.0.0.1:9/again"}
                - {path: /v1/chat/completions, target: "http://127.0.0.1:9/c"}
                - {path: /v1, target: "http://127.0.0.1:9/v1", include_subpath: true}
                - {path: no-slash, target: "http://127.0.0.1:9/n"}
                - {path: /env, target: "http://127.0.0.1:9/e", headers: {Authorization: "Bearer os.environ/PASS_UNSET"}}
                - {target: "http://127.0.0.1:9/nopath"}
                - {path: /split, target: "http://127.0.0.1:9/r", methods: [GET]}
                - {path: /split, target: "http://127.0.0.1:9/w", methods: [POST]}
                - {path: /framing, target: "http://127.0.0.1:9/f", headers: {Transfer-Encoding: chunked}}
            """;

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.False(result.IsUsable);
        var errors = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Error).ToList();
        string Error(int index, string key) => Assert.Single(errors, e => e.Path == $"general_settings.pass_through_endpoints[{index}].{key}").Message;
        Assert.Contains("not an absolute http(s) URL", Error(1, "target"), StringComparison.Ordinal);
        Assert.Contains("not an absolute http(s) URL", Error(2, "target"), StringComparison.Ordinal);
        Assert.Contains("already forwarded by general_settings.pass_through_endpoints[0]", Error(3, "path"), StringComparison.Ordinal);
        Assert.Contains("Broker's own route /v1/chat/completions", Error(4, "path"), StringComparison.Ordinal);
        Assert.Contains("with include_subpath it would take Broker's own route", Error(5, "path"), StringComparison.Ordinal);
        Assert.Contains("must start with '/'", Error(6, "path"), StringComparison.Ordinal);
        Assert.Contains("PASS_UNSET", Error(7, "headers.Authorization"), StringComparison.Ordinal);
        Assert.Equal("required", Error(8, "path"));
        Assert.Contains("cannot be configured", Error(11, "headers.Transfer-Encoding"), StringComparison.Ordinal);
        Assert.Equal(9, errors.Count);
    }
}

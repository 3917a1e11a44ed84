using Broker.Ingress.Alerts;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Batches;
using Broker.Ingress.Features.ChatCompletions;
using Broker.Ingress.Features.Completions;
using Broker.Ingress.Features.Cooldowns;
using Broker.Ingress.Features.Embeddings;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Features.Health;
using Broker.Ingress.Features.Messages;
using Broker.Ingress.Features.Models;
using Broker.Ingress.Features.Queues;
using Broker.Ingress.Features.Responses;
using Broker.Ingress.Features.Spend;
using Broker.Ingress.Inference;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Observability;
using Broker.ServiceDefaults.Redis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress;

public static class IngressRegistration
{
    /// <summary>The Ingress role's services: the OpenAI HTTP surface that sends requests to model group queues.</summary>
    public static IHostApplicationBuilder AddIngress(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBrokerRedis();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceClient>();
        builder.Services.AddSingleton<GroupBalancer>();
        builder.Services.AddSingleton<QueueMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueMonitor>());
        builder.Services.AddHttpClient(nameof(QueueMonitor));
        builder.Services.AddHostedService<StreamReplyConnector>();
        builder.Services.AddHostedService<HangingRequestMonitor>();
        builder.AddResponseCache();
        // files and batches live in general_settings.database_url's PostgreSQL (idempotent: every role may add it)
        builder.AddBrokerDatabase();
        builder.Services.AddSingleton<FileStore>();
        builder.Services.AddSingleton<BatchStore>();
        builder.Services.AddSingleton<BatchValidator>();
        builder.Services.AddSingleton<BatchFinalizer>();
        builder.Services.AddSingleton<BatchLineRunner>();
        builder.Services.AddSingleton<BatchDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BatchDispatcher>());
        builder.Services.AddSingleton(sp =>
        {
            var options = new IngressOptions();
            builder.Configuration.GetSection("Ingress").Bind(options);
            return options;
        });
        builder.Services.AddSingleton<MasterKeyFilter>();
        builder.Services.AddExceptionHandler<OpenAiExceptionHandler>();
        builder.Services.AddProblemDetails();
        builder.Services.AddHealthChecks();
        // the body limit is enforced by the endpoints (max_request_size_mb), with an OpenAI-shaped 413
        builder.Services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = null);
        return builder;
    }

    /// <summary>Maps the OpenAI routes (with and without <c>/v1</c>), admin and health routes.</summary>
    public static WebApplication MapIngress(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.MapProbes();

        foreach (var prefix in new[] { "/v1", "" })
        {
            app.MapGroup(prefix)
                .AddEndpointFilter<MasterKeyFilter>()
                .MapChatCompletions()
                .MapResponses()
                .MapCompletions()
                .MapEmbeddings()
                .MapFiles()
                .MapBatches()
                .MapModels();
        }

        app.MapMessages();
        app.MapMessageBatches();

        app.MapGroup("")
            .AddEndpointFilter<MasterKeyFilter>()
            .MapModelList()
            .MapQueues()
            .MapCooldowns()
            .MapDeploymentHealth()
            .MapSpend();

        app.MapBrokerMetrics();

        app.MapFallback((HttpContext http) => new OpenAiErrorResult(
            StatusCodes.Status404NotFound, $"Unknown route {http.Request.Method} {http.Request.Path}", "invalid_request_error", null, "unknown_route"));
        return app;
    }
}

using Broker.Ingress.Alerts;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Batches;
using Broker.Ingress.Features.ChatCompletions;
using Broker.Ingress.Features.ConfigReload;
using Broker.Ingress.Features.Completions;
using Broker.Ingress.Features.Cooldowns;
using Broker.Ingress.Features.Embeddings;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Features.Health;
using Broker.Ingress.Features.Messages;
using Broker.Ingress.Features.Models;
using Broker.Ingress.Features.Queues;
using Broker.Ingress.Features.Rerank;
using Broker.Ingress.Features.Requests;
using Broker.Ingress.Features.Responses;
using Broker.Ingress.Features.Spend;
using Broker.Ingress.Guardrails;
using Broker.Ingress.Http;
using Broker.Ingress.Idempotency;
using Broker.Ingress.Inference;
using Broker.Ingress.Keys;
using Broker.Ingress.Mcp;
using Broker.Ingress.PassThrough;
using Broker.Ingress.Ui;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Health;
using Broker.ServiceDefaults.Models;
using Broker.ServiceDefaults.Observability;
using Broker.ServiceDefaults.Redis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Broker.ServiceDefaults.Options;

namespace Broker.Ingress;

public static class IngressRegistration
{
    /// <summary>The Ingress role's services: the OpenAI HTTP surface that sends requests to model group queues.</summary>
    public static IHostApplicationBuilder AddIngress(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddBrokerRedis();
        builder.AddDeploymentHealthBoard();
        builder.Services.AddHostedService<DeploymentHealthMetrics>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InferenceClient>();
        builder.Services.AddSingleton<GroupBalancer>();
        builder.Services.AddGuardrails();
        builder.Services.AddSingleton<QueueMonitor>();
        builder.Services.AddSingleton<QueueBacklog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueMonitor>());
        builder.Services.AddHttpClient(nameof(QueueMonitor));
        builder.Services.AddHostedService<StreamReplyConnector>();
        builder.Services.AddHostedService<HangingRequestMonitor>();
        builder.AddResponseCache();
        builder.AddMcpGateway();
        // files and batches live in the state store: PostgreSQL or the embedded SQLite file (idempotent: every role may add it)
        builder.AddBrokerDatabase();
        builder.Services.AddSingleton<FileStore>();
        builder.Services.AddSingleton<UploadLimiter>();
        builder.Services.AddSingleton<BatchStore>();
        // files and batches: PostgreSQL, or the embedded SQLite file (one behaviour, one contract test suite)
        builder.Services.AddSingleton<IFileStore>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteFileStore>(sp)
            : sp.GetRequiredService<FileStore>());
        builder.Services.AddSingleton<IBatchStore>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteBatchStore>(sp)
            : sp.GetRequiredService<BatchStore>());
        builder.Services.AddSingleton<BatchValidator>();
        builder.Services.AddSingleton<BatchFinalizer>();
        builder.Services.AddSingleton<BatchLineRunner>();
        builder.Services.AddSingleton<BatchDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BatchDispatcher>());
        builder.AddValidatedOptions<IngressOptions>("Ingress");
        builder.AddValidatedOptions<IdempotencyOptions>("Idempotency");
        builder.Services.AddSingleton<IdempotencyStore>();
        builder.Services.AddSingleton<RequestDrain>();
        // the drain happens before the rest of the host stops: give the host that much more time to stop
        builder.Services.Configure<HostOptions>(o =>
        {
            var drain = builder.Configuration.GetValue<double?>("Ingress:DrainSeconds") ?? 30;
            o.ShutdownTimeout += TimeSpan.FromSeconds(Math.Max(0, drain));
        });
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RequestDrain>());
        builder.AddValidatedOptions<AuthOptions>("Auth");
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<IdentityRepository>();
        // keys, users and teams: PostgreSQL, or the embedded SQLite file (one behaviour, one contract test suite)
        builder.Services.AddSingleton<IIdentityStore>(sp => sp.GetRequiredService<BrokerDatabase>().Kind == DatabaseKind.Sqlite
            ? ActivatorUtilities.CreateInstance<SqliteIdentityStore>(sp)
            : sp.GetRequiredService<IdentityRepository>());
        builder.Services.AddSingleton<IdentityCache>();
        builder.Services.AddSingleton<IdentityChanges>();
        builder.Services.AddSingleton<RateLimiter>();
        builder.Services.AddSingleton<JwtAuthenticator>();
        builder.Services.AddHttpClient(nameof(JwtAuthenticator));
        builder.Services.AddSingleton<BudgetReservations>();
        builder.Services.AddSingleton<Budgets>();
        builder.Services.AddSingleton<ModelAuthorizer>();
        builder.Services.AddSingleton<CustomAuthClient>();
        builder.Services.AddHttpClient(nameof(CustomAuthClient));
        builder.Services.AddSingleton<AuthFilter>();
        builder.AddPassThrough();
        builder.Services.AddSingleton<UiSessionProtector>();
        builder.Services.AddSingleton<UiAssets>();
        builder.Services.AddSingleton<SsoClient>();
        builder.Services.AddSingleton<SsoUsers>();
        builder.Services.AddHttpClient(nameof(SsoClient));
        // runtime models (store_model_in_db): /model/new and friends, merged into the config snapshot everywhere
        builder.AddRuntimeModels();
        builder.AddBusContribution(new IdentityBusContribution());
        builder.AddBusContribution(new RequestHistoryBusContribution());
        builder.Services.AddExceptionHandler<OpenAiExceptionHandler>();
        // a query or route value that does not bind (?limit=abc) is thrown to the handler above: a 400 with an error body, not an empty one
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
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
        var drain = app.Services.GetRequiredService<RequestDrain>();
        app.Use(drain.TrackAsync);
        // the admin UI's session cookie stands for the Bearer key on the admin routes (changes need its CSRF token)
        app.Use(UiCookieAuth.AttachAsync);
        // fail closed: every route declares who may call it (RouteAccess); one that does not is refused
        app.Use(RouteDeclarations.RefuseUndeclaredAsync);
        app.MapProbes();

        foreach (var prefix in new[] { "/v1", "" })
        {
            app.MapGroup(prefix)
                .CheckCallers()
                .MapChatCompletions()
                .MapResponses()
                .MapCompletions()
                .MapEmbeddings()
                .MapRerank()
                .MapFiles()
                .MapBatches()
                .MapModels();
        }

        app.MapMessages();
        app.MapMessageBatches();

        app.MapGroup("")
            .CheckCallers()
            .RaiseManagementAlerts()
            .MapModelList()
            .MapModelManagement()
            .MapConfigReload()
            .MapQueues()
            .MapCooldowns()
            .MapDeploymentHealth()
            .MapSpend()
            .MapRequestHistory()
            .MapKeyManagement()
            .MapUserManagement()
            .MapTeamManagement();

        app.MapGroup("").CheckCallers().MapMcpGateway();

        app.MapBrokerMetrics();
        app.MapPassThrough();
        app.MapUi();

        app.MapFallback((HttpContext http) => new OpenAiErrorResult(
            StatusCodes.Status404NotFound, $"Unknown route {http.Request.Method} {http.Request.Path}", "invalid_request_error", null, "unknown_route"))
            .AllowAnonymous();
        return app;
    }
}

using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Idempotency;

/// <summary>Endpoint metadata: the route honours <c>Idempotency-Key</c>; its errors are shaped by <see cref="ErrorShape"/>.</summary>
public sealed record IdempotentRoute(Func<OpenAiErrorResult, IResult> ErrorShape);

using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Features.Files;

/// <summary>Who owns the files and batches a request creates or sees: the caller's key hash, else <c>master</c>.</summary>
public static class FileOwner
{
    public const string Master = "master";

    public static string Of(HttpContext http) => http.GetCaller()?.KeyHash ?? Master;
}

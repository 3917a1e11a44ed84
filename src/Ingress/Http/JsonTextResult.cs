using System.Text;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Http;

/// <summary>A JSON body that is already serialized (the worker's reply), with extra response headers.</summary>
public sealed class JsonTextResult(string json, IReadOnlyDictionary<string, string> headers) : IResult
{
    public string Json { get; } = json;

    public IReadOnlyDictionary<string, string> Headers { get; } = headers;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        foreach (var (name, value) in Headers)
        {
            httpContext.Response.Headers[name] = value;
        }

        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = "application/json";
        await httpContext.Response.WriteAsync(Json, Encoding.UTF8, httpContext.RequestAborted);
    }
}

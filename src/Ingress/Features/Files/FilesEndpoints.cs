using System.Text.Json.Nodes;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Broker.Ingress.Features.Files;

/// <summary>OpenAI's Files API (<c>/v1/files</c>): upload (multipart, streamed to PostgreSQL), get, list, content, delete.</summary>
public static class FilesEndpoints
{
    private const int MaxFilenameLength = 512;

    private const int MaxPurposeLength = 64;

    private static readonly HashSet<string> Purposes = new(StringComparer.Ordinal)
    {
        "batch", "batch_output", "fine-tune", "assistants", "vision", "user_data", "evals",
    };

    public static RouteGroupBuilder MapFiles(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/files", Upload).AllowAnyKey().ReadsOwnBody();
        group.MapGet("/files", List).AllowAnyKey();
        group.MapGet("/files/{id}", Get).AllowAnyKey();
        group.MapDelete("/files/{id}", Delete).AllowAnyKey();
        group.MapGet("/files/{id}/content", Content).AllowAnyKey();
        return group;
    }

    /// <summary>The error when no database_url is configured: files and batches live in PostgreSQL.</summary>
    public static OpenAiErrorResult NoDatabase() => new(
        StatusCodes.Status501NotImplemented,
        "Files and batches need a database: set general_settings.database_url (or DATABASE_URL).",
        "invalid_request_error", null, "database_not_configured");

    public static OpenAiErrorResult NotFound(string id) =>
        new(StatusCodes.Status404NotFound, $"No such File object: {id}", "invalid_request_error", "id", null);

    private static async Task<IResult> Upload(HttpContext http, IFileStore files, UploadLimiter limiter)
    {
        if (!files.IsConfigured)
        {
            return NoDatabase();
        }

        using var slot = limiter.TryEnter(FileOwner.Of(http));
        if (slot is null)
        {
            return new OpenAiErrorResult(StatusCodes.Status429TooManyRequests,
                $"Too many uploads in progress for this key (at most {limiter.Limit} at once, Ingress:MaxConcurrentUploadsPerKey); retry when one has finished.",
                "rate_limit_error", "file", "too_many_concurrent_uploads") { RetryAfterSeconds = 1 };
        }

        var cancellationToken = http.RequestAborted;
        var contentType = http.Request.ContentType;
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var mediaType) ||
            !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase) ||
            HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return OpenAiErrorResult.BadRequest("Expected a multipart/form-data body with 'file' and 'purpose'.", "file", "invalid_request");
        }

        var owner = FileOwner.Of(http);
        var reader = new MultipartReader(boundary, http.Request.Body) { BodyLengthLimit = null };
        string? purpose = null;
        StoredFile? stored = null;
        try
        {
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(cancellationToken)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (disposition.IsFileDisposition() && name == "file" && stored is null)
                {
                    var filename = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "file";
                    if (filename.Any(char.IsControl) || filename.Length > MaxFilenameLength)
                    {
                        return OpenAiErrorResult.BadRequest(
                            $"Invalid file name: it must be at most {MaxFilenameLength} characters, without control characters (such as NUL).", "file", "invalid_value");
                    }

                    stored = await files.CreateAsync(owner, purpose ?? "batch", filename, section.Body, FileStore.MaxBytes, cancellationToken);
                    if (stored is null)
                    {
                        return new OpenAiErrorResult(StatusCodes.Status413RequestEntityTooLarge,
                            $"File is larger than the {FileStore.MaxBytes / (1024 * 1024)} MB limit.", "invalid_request_error", "file", "request_too_large");
                    }
                }
                else if (name == "purpose")
                {
                    using var text = new StreamReader(section.Body);
                    var buffer = new char[MaxPurposeLength + 1];
                    var read = await text.ReadBlockAsync(buffer, cancellationToken);
                    purpose = new string(buffer, 0, read).Trim();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException && ex is not BadHttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            // a truncated or malformed multipart body: the client's error; what was stored of it goes
            if (stored is not null)
            {
                await files.DeleteAsync(owner, stored.Id, CancellationToken.None);
            }

            return OpenAiErrorResult.BadRequest($"The multipart/form-data body is malformed or incomplete: {ex.Message}", "file", "invalid_multipart");
        }
        catch when (stored is not null)
        {
            // the client went away or its body broke after the file part was stored: no half-made upload is kept
            await files.DeleteAsync(owner, stored.Id, CancellationToken.None);
            throw;
        }

        OpenAiErrorResult? error = null;
        if (stored is null)
        {
            error = OpenAiErrorResult.BadRequest("Missing required parameter: 'file'.", "file", "missing_required_parameter");
        }
        else if (purpose is null)
        {
            error = OpenAiErrorResult.BadRequest("Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter");
        }
        else if (!Purposes.Contains(purpose))
        {
            error = OpenAiErrorResult.BadRequest(
                $"Invalid value for 'purpose': '{purpose}'. Supported values are: {string.Join(", ", Purposes.Select(p => $"'{p}'"))}.", "purpose", "invalid_value");
        }

        if (error is not null)
        {
            if (stored is not null)
            {
                await files.DeleteAsync(owner, stored.Id, CancellationToken.None);
            }

            return error;
        }

        if (stored!.Purpose != purpose)
        {
            // the purpose part came after the file part
            await files.SetPurposeAsync(stored.Id, purpose!, cancellationToken);
            stored = stored with { Purpose = purpose! };
        }

        return Json(ToJson(stored));
    }

    private static async Task<IResult> List(HttpContext http, IFileStore files, string? purpose, string? after, int? limit, string? order)
    {
        if (!files.IsConfigured)
        {
            return NoDatabase();
        }

        var take = Math.Clamp(limit ?? 10_000, 1, 10_000);
        var page = await files.ListAsync(FileOwner.Of(http), purpose, after, take + 1, order == "asc", http.RequestAborted);
        var data = new JsonArray(page.Take(take).Select(f => (JsonNode)ToJson(f)).ToArray());
        return Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["first_id"] = page.Count > 0 ? page[0].Id : null,
            ["last_id"] = page.Count > 0 ? page[Math.Min(take, page.Count) - 1].Id : null,
            ["has_more"] = page.Count > take,
        });
    }

    private static async Task<IResult> Get(HttpContext http, IFileStore files, string id)
    {
        if (!files.IsConfigured)
        {
            return NoDatabase();
        }

        return await files.GetAsync(FileOwner.Of(http), id, http.RequestAborted) is { } file ? Json(ToJson(file)) : NotFound(id);
    }

    private static async Task<IResult> Delete(HttpContext http, IFileStore files, string id)
    {
        if (!files.IsConfigured)
        {
            return NoDatabase();
        }

        return await files.DeleteAsync(FileOwner.Of(http), id, http.RequestAborted)
            ? Json(new JsonObject { ["id"] = id, ["object"] = "file", ["deleted"] = true })
            : NotFound(id);
    }

    private static async Task<IResult> Content(HttpContext http, IFileStore files, string id)
    {
        if (!files.IsConfigured)
        {
            return NoDatabase();
        }

        if (await files.GetAsync(FileOwner.Of(http), id, http.RequestAborted) is not { } file)
        {
            return NotFound(id);
        }

        return new FileContentResult(files, file);
    }

    public static JsonObject ToJson(StoredFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new JsonObject
        {
            ["id"] = file.Id,
            ["object"] = "file",
            ["bytes"] = file.Bytes,
            ["created_at"] = file.CreatedAt.ToUnixTimeSeconds(),
            ["expires_at"] = null,
            ["filename"] = file.Filename,
            ["purpose"] = file.Purpose,
            ["status"] = file.Status,
            ["status_details"] = null,
        };
    }

    public static JsonTextResult Json(JsonObject body) => new(body.ToJsonString(), new Dictionary<string, string>());

    /// <summary>Streams a file's content from its stored chunks.</summary>
    private sealed class FileContentResult(IFileStore files, StoredFile file) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = "application/octet-stream";
            httpContext.Response.ContentLength = file.Bytes;
            // RFC 6266: an ASCII filename plus an RFC 5987 filename* (UTF-8), so any name survives the header
            var disposition = new ContentDispositionHeaderValue("attachment");
            disposition.SetHttpFileName(file.Filename);
            httpContext.Response.Headers.ContentDisposition = disposition.ToString();
            await files.CopyContentAsync(file.Id, httpContext.Response.Body, httpContext.RequestAborted);
        }
    }
}

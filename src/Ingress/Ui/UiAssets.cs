using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace Broker.Ingress.Ui;

/// <summary>
/// The built admin UI (src/Ui, built by the Ingress build into <c>src/Ui/dist</c>), embedded in this assembly as
/// resources named <c>ui/&lt;path&gt;</c>: read once, served from memory, nothing from disk or the network at run time.
/// </summary>
public sealed class UiAssets
{
    private const string Prefix = "ui/";
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    private readonly FrozenDictionary<string, UiAsset> _files;

    public UiAssets()
        : this(typeof(UiAssets).Assembly)
    {
    }

    public UiAssets(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var files = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var path = name[Prefix.Length..];
            var type = ContentTypes.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/javascript" or "text/javascript")
            {
                type += "; charset=utf-8";
            }

            files[path] = new UiAsset(bytes, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"");
        }

        _files = files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>False when the assembly was built without the UI (src/Ui/dist was empty).</summary>
    public bool IsBuilt => _files.ContainsKey("index.html");

    public UiAsset? Find(string path) => _files.GetValueOrDefault(path);
}

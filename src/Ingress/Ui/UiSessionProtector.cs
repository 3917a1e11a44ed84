using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;

namespace Broker.Ingress.Ui;

/// <summary>
/// Seals a <see cref="UiSession"/> into the session cookie's value and opens it again: AES-256-GCM under a key
/// derived (HKDF-SHA256) from the master key, so every Ingress instance with the same config opens the cookies of
/// the others, a restart keeps sessions, and changing the master key ends them all. Without a master key (an open
/// gateway) the key is random per process. A cookie that was altered, sealed under another key or has expired
/// opens to null.
/// </summary>
public sealed class UiSessionProtector(IProxyConfigProvider config, TimeProvider time)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Info = Encoding.UTF8.GetBytes("broker-ui-session-v1");
    private readonly byte[] _processKey = RandomNumberGenerator.GetBytes(32);

    public string Seal(UiSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Seal(new JsonObject
        {
            ["k"] = session.Key,
            ["a"] = session.IsAdmin,
            ["c"] = session.CsrfToken,
            ["e"] = session.Expires.ToUnixTimeSeconds(),
            ["n"] = session.KeyAlias,
            ["u"] = session.UserId,
            ["m"] = session.Email,
            ["p"] = session.Provider,
        }, Info);
    }

    /// <summary>Seals any JSON object under the key derived for <paramref name="purpose"/> (one purpose never opens another's).</summary>
    public string Seal(JsonObject content, ReadOnlySpan<byte> purpose)
    {
        ArgumentNullException.ThrowIfNull(content);
        var payload = Encoding.UTF8.GetBytes(content.ToJsonString());
        var sealedBytes = new byte[NonceSize + TagSize + payload.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(Key(purpose), TagSize);
        aes.Encrypt(nonce, payload, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        return Base64Url(sealedBytes);
    }

    /// <summary>The JSON object sealed for <paramref name="purpose"/>, or null when the text was altered or sealed otherwise.</summary>
    public JsonObject? Open(string? cookie, ReadOnlySpan<byte> purpose)
    {
        if (string.IsNullOrEmpty(cookie) || cookie.Length > 8192 || !TryBase64Url(cookie, out var sealedBytes) || sealedBytes.Length <= NonceSize + TagSize)
        {
            return null;
        }

        var payload = new byte[sealedBytes.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(Key(purpose), TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), payload);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(payload) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public UiSession? Open(string? cookie)
    {
        if (Open(cookie, Info) is not { } json)
        {
            return null;
        }

        try
        {
            if (json["k"]?.GetValue<string>() is not { } key ||
                json["c"]?.GetValue<string>() is not { Length: > 0 } csrf ||
                json["e"]?.GetValue<long>() is not { } expiresSeconds)
            {
                return null;
            }

            var userId = json["u"]?.GetValue<string>();
            var admin = json["a"]?.GetValue<bool>() ?? false;
            // a session is a key, the master key, or an SSO user: never nothing
            if (key.Length == 0 && userId is null && !admin)
            {
                return null;
            }

            var expires = DateTimeOffset.FromUnixTimeSeconds(expiresSeconds);
            return expires <= time.GetUtcNow()
                ? null
                : new UiSession(key, admin, csrf, expires, json["n"]?.GetValue<string>())
                {
                    UserId = userId,
                    Email = json["m"]?.GetValue<string>(),
                    Provider = json["p"]?.GetValue<string>(),
                };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private byte[] Key(ReadOnlySpan<byte> purpose)
    {
        var master = config.Current.GeneralSettings.MasterKey?.Value;
        var secret = string.IsNullOrEmpty(master) ? _processKey : Encoding.UTF8.GetBytes(master);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: purpose.ToArray());
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string text, out byte[] bytes)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        bytes = new byte[padded.Length];
        if (Convert.TryFromBase64String(padded, bytes, out var written))
        {
            bytes = bytes[..written];
            return true;
        }

        bytes = [];
        return false;
    }
}

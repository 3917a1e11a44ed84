using System.Text.Json.Serialization;

namespace Broker.Ingress.Keys;

/// <summary>The cached records' JSON form in Redis.</summary>
[JsonSerializable(typeof(KeyRecord))]
[JsonSerializable(typeof(UserRecord))]
[JsonSerializable(typeof(TeamRecord))]
internal sealed partial class KeysJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace Broker.Ingress.Errors;

[JsonSerializable(typeof(OpenAiError))]
internal sealed partial class IngressJsonContext : JsonSerializerContext;

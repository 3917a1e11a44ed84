namespace Broker.Ingress.Ui;

/// <summary>One built UI file: its bytes, content type and ETag.</summary>
public sealed record UiAsset(ReadOnlyMemory<byte> Content, string ContentType, string ETag);

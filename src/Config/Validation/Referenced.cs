namespace Broker.Config.Validation;

/// <summary>A loaded value together with the model group names it mentions.</summary>
internal sealed record Referenced<T>(T Value, IReadOnlyList<NameRef> Refs);

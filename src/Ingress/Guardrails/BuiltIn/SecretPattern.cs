using System.Text.RegularExpressions;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>One credential format of <see cref="SecretPatterns"/>.</summary>
public sealed record SecretPattern(string Id, string Description, Regex Regex, double MinEntropy);

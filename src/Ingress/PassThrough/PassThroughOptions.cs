using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress.PassThrough;

/// <summary>
/// Pass-through endpoint host settings (appsettings / environment, section <c>PassThrough</c>, e.g.
/// <c>PassThrough__ConnectTimeoutSeconds=5</c>).
/// </summary>
public sealed class PassThroughOptions
{
    /// <summary>The longest a connection to a target may take to open; then the call is answered 502.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The longest a forwarded call may go without any activity (response headers, a body chunk either way); then it
    /// is answered 504 (or, once the answer has started, cut). Unset: <c>router_settings.timeout</c>, else
    /// <c>litellm_settings.request_timeout</c>, else 600 s.
    /// </summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double? ActivityTimeoutSeconds { get; set; }
}

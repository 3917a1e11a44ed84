namespace Broker.Billing.Alerts;

/// <summary>A channel or callback receiver refused or did not take a message (non-2xx answer).</summary>
public sealed class AlertDeliveryException : Exception
{
    public AlertDeliveryException()
    {
    }

    public AlertDeliveryException(string message)
        : base(message)
    {
    }

    public AlertDeliveryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Throws when the answer is not a success, with its status and the start of its body.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        throw new AlertDeliveryException($"{what} answered {(int)response.StatusCode}: {(body.Length > 200 ? body[..200] : body)}");
    }
}

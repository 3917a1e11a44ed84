namespace Broker.ServiceDefaults.Bus;

/// <summary>Told of every message a consumer gave up on (a role raises its alert from it). Must not throw.</summary>
public interface IDeadLetterHandler
{
    Task HandleAsync(DeadLetter letter, CancellationToken cancellationToken);
}

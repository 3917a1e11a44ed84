namespace Broker.Config.Model;

/// <summary>
/// A model added at run time (<c>POST /model/new</c>, kept in the state store with <c>store_model_in_db: true</c>):
/// its id, model_name and the JSON objects <c>litellm_params</c> and <c>model_info</c> exactly as given
/// (<c>os.environ/NAME</c> references unresolved, so secrets stay out of the store when the caller wants them to).
/// </summary>
public sealed record RuntimeModelEntry
{
    public required string Id { get; init; }

    public required string ModelName { get; init; }

    /// <summary>The litellm_params JSON object as given.</summary>
    public required string LitellmParams { get; init; }

    /// <summary>The model_info JSON object as given (without <c>id</c>, which is <see cref="Id"/>); <c>{}</c> when none.</summary>
    public required string ModelInfo { get; init; }

    public override string ToString() => $"{ModelName} (id {Id})";
}

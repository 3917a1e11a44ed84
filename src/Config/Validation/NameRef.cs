using YamlDotNet.RepresentationModel;

namespace Broker.Config.Validation;

/// <summary>A model group name written in the settings, with where it was written, checked once model_list is known.</summary>
internal sealed record NameRef(string Name, YamlNode Node, string Path, NameRefKind Kind);

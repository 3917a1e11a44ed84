using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Config.Validation;

/// <summary>Checks that fallback and alias targets name something in model_list.</summary>
internal static class ReferenceValidator
{
    public static void Validate(ProxyConfig config, IEnumerable<NameRef> refs, LoadContext context)
    {
        var ids = config.ModelList.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var reference in refs)
        {
            switch (reference.Kind)
            {
                case NameRefKind.AliasTarget:
                    if (!config.ModelGroups.Any(g => !g.IsWildcard && g.Name == reference.Name))
                    {
                        context.Error(reference.Node, reference.Path,
                            $"alias target '{reference.Name}' is not a model_name in model_list");
                    }

                    break;
                case NameRefKind.FallbackTarget:
                    if (config.FindGroup(reference.Name) is null && !ids.Contains(reference.Name) && config.GeneralSettings.StoreModelInDb)
                    {
                        // a group that exists only as runtime models (/model/new) is looked up at request time; one
                        // that does not exist then is skipped (the request fails rather than going elsewhere)
                        context.Warning(reference.Node, reference.Path,
                            $"fallback target '{reference.Name}' is not in config.yaml; with store_model_in_db it must be a runtime model group when a request falls back");
                    }
                    else if (config.FindGroup(reference.Name) is null && !ids.Contains(reference.Name))
                    {
                        context.Error(reference.Node, reference.Path,
                            $"fallback target '{reference.Name}' is not a model group (no model_name, alias or model_info.id matches it)");
                    }

                    break;
            }
        }
    }
}

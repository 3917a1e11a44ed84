using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.ServiceDefaults.Options;

public static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to the configuration section <paramref name="section"/> (appsettings, or environment
    /// variables such as <c>Ingress__DrainSeconds</c>) and checks its data annotations: <see cref="Check"/>, called once the
    /// host is built, reports a value of the wrong type or out of range in every such section at once, instead of the
    /// first request that reads it failing. <typeparamref name="T"/> is then injectable as itself.
    /// </summary>
    public static IHostApplicationBuilder AddValidatedOptions<T>(this IHostApplicationBuilder builder, string section)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<T>()
            .Bind(builder.Configuration.GetSection(section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        builder.Services.AddSingleton(new ValidatedSection(section, sp => _ = sp.GetRequiredService<IOptions<T>>().Value));
        return builder;
    }

    /// <summary>Reads every section added with <see cref="AddValidatedOptions{T}"/>; throws one exception naming every problem.</summary>
    public static void Check(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var problems = new List<string>();
        foreach (var section in services.GetServices<ValidatedSection>())
        {
            try
            {
                section.Read(services);
            }
            catch (OptionsValidationException ex)
            {
                problems.AddRange(ex.Failures.Select(f => $"{section.Name}: {StripPrefix(f)}"));
            }
            catch (InvalidOperationException ex)
            {
                // a value that does not convert to the setting's type ("Failed to convert configuration value at ...")
                problems.Add($"{section.Name}: {ex.Message}");
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidHostSettingsException(problems);
        }
    }

    private static string StripPrefix(string failure)
    {
        // DataAnnotations' "DataAnnotation validation failed for 'X' members: 'P' with the error: 'message'." → message
        const string Marker = "with the error: '";
        var at = failure.IndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? failure : failure[(at + Marker.Length)..].TrimEnd('.').TrimEnd('\'');
    }

    private sealed record ValidatedSection(string Name, Action<IServiceProvider> Read);
}

/// <summary>Host settings (appsettings / environment) that are out of range or of the wrong type, all of them.</summary>
public sealed class InvalidHostSettingsException(IReadOnlyList<string> problems)
    : Exception("invalid host settings: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

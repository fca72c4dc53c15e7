using CachifyNet;

// OpenTelemetry's convention: builder extensions live in the builder's namespace, so they need no extra using.
namespace OpenTelemetry.Metrics;

/// <summary><c>AddCachifyInstrumentation()</c> for metrics.</summary>
public static class CachifyMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects Cachify's metrics (the meter <see cref="CachifyTelemetry.Name"/>): hits, misses, executions, stampede joins,
    /// never-die refreshes, backend errors and execution duration, tagged with <c>cachify.function</c> and <c>cachify.backend</c>.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static MeterProviderBuilder AddCachifyInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(CachifyTelemetry.Name);
    }
}

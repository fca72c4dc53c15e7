using CachifyNet;

// OpenTelemetry's convention: builder extensions live in the builder's namespace, so they need no extra using.
namespace OpenTelemetry.Trace;

/// <summary><c>AddCachifyInstrumentation()</c> for traces.</summary>
public static class CachifyTracerProviderBuilderExtensions
{
    /// <summary>
    /// Collects Cachify's traces (the activity source <see cref="CachifyTelemetry.Name"/>): one <c>cachify.execute</c> span per
    /// execution of a wrapped function (never one per cache hit), tagged with <c>cachify.function</c> and <c>cachify.backend</c>.
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static TracerProviderBuilder AddCachifyInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(CachifyTelemetry.Name);
    }
}

namespace CachifyNet;

/// <summary>
/// The names under which Cachify reports: its <see cref="System.Diagnostics.Metrics.Meter"/> and its
/// <see cref="System.Diagnostics.ActivitySource"/> are both named <see cref="Name"/>. With OpenTelemetry, call
/// <c>AddCachifyInstrumentation()</c> (package Cachify.OpenTelemetry), or <c>AddMeter(CachifyTelemetry.Name)</c> and
/// <c>AddSource(CachifyTelemetry.Name)</c>.
/// </summary>
public static class CachifyTelemetry
{
    /// <summary>The name of Cachify's meter and activity source: <c>Cachify</c>.</summary>
    public const string Name = Internal.Telemetry.Name;

    /// <summary>The tag that names the cached function (its <c>Named</c> name, else <c>Type.Method</c>) on every instrument and span.</summary>
    public const string FunctionTag = Internal.Telemetry.FunctionTag;

    /// <summary>The tag that names the backend (<c>memory</c>, <c>redis</c>, …) on every instrument and span.</summary>
    public const string BackendTag = Internal.Telemetry.BackendTag;
}

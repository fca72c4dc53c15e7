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

    /// <summary>
    /// The up-down counter of keys in the per-key lock tables of this process (calls running or waiting for an execution),
    /// tagged <see cref="BackendTag"/>: <c>cachify.lock.count</c>. It is 0 when no call runs; growth while idle is a leak.
    /// </summary>
    public const string LockCount = Internal.Telemetry.LockCount;

    /// <summary>
    /// The up-down counter of entries the backends' schedulers hold (TTL expiries in memory, never-die refreshes), tagged
    /// <see cref="BackendTag"/>: <c>cachify.scheduled.count</c>. It follows the entries held; growth beyond them is a leak.
    /// </summary>
    public const string ScheduledCount = Internal.Telemetry.ScheduledCount;

    /// <summary>
    /// The up-down counter of entries held in process memory (the memory backend), tagged <see cref="FunctionTag"/> and
    /// <see cref="BackendTag"/>: <c>cachify.entry.count</c>.
    /// </summary>
    public const string EntryCount = Internal.Telemetry.EntryCount;

    /// <summary>
    /// The up-down counter of callers waiting for another process's lock (Redis), tagged <see cref="BackendTag"/>:
    /// <c>cachify.lock.waiter.count</c>. It is 0 when no call waits; growth while idle is a leak.
    /// </summary>
    public const string LockWaiterCount = Internal.Telemetry.LockWaiterCount;
}

using CachifyNet.Internal.Stores;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The Redis backend's own instrument on the "Cachify" meter: the callers waiting for another process's lock. The
/// package creates a <see cref="Meter"/> of that name itself (listeners and OpenTelemetry's <c>AddMeter</c> select
/// meters by name), so it needs nothing from core but the public names in <see cref="CachifyTelemetry"/>.
/// </summary>
internal static class RedisTelemetry
{
    public const string Kind = "redis";

    private static readonly Meter Meter = new(CachifyTelemetry.Name, typeof(RedisTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The waiters of every live backend, held weakly: a backend nobody disposes is still collected.</summary>
    private static readonly ConditionalWeakTable<WaiterRegistry, object> Registries = CreateGauge();

    /// <summary>Lets the gauge read <paramref name="waiters"/> until <see cref="Untrack"/> or until it is collected.</summary>
    public static void Track(WaiterRegistry waiters) => Registries.AddOrUpdate(waiters, Kind);

    public static void Untrack(WaiterRegistry waiters) => Registries.Remove(waiters);

    private static ConditionalWeakTable<WaiterRegistry, object> CreateGauge()
    {
        Meter.CreateObservableUpDownCounter(
            CachifyTelemetry.LockWaiterCount, Observe, "{waiter}", "Callers waiting for another process's lock. 0 when no call waits; growth while idle is a leak.");
        return new();
    }

    private static Measurement<long> Observe()
    {
        long count = 0;
        foreach (var (waiters, _) in Registries)
        {
            count += waiters.Count;
        }

        return new Measurement<long>(count, new KeyValuePair<string, object?>(CachifyTelemetry.BackendTag, Kind));
    }
}

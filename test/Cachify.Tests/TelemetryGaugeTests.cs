using System.Runtime.CompilerServices;
using CachifyNet.Tests.Reliability;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CachifyNet.Tests;

/// <summary>
/// The leak-signal gauges of the "Cachify" meter, read as an app's metrics pipeline reads them. They add up every live
/// backend of the process, so these tests run alone (no other test's calls move them) and compare with a reading
/// taken before.
/// </summary>
[Collection(nameof(MemoryMeasurements))]
public class TelemetryGaugeTests
{
    private const string Memory = "memory";

    [Fact]
    public async Task Gauges_CallsRunningThenDone_CountLocksScheduledAndEntriesThenGoBack()
    {
        var fx = new MemoryFixture();
        const string Function = "gauges.memory";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) => { await release.Task; return x; }).Named(Function).Ttl(TimeSpan.FromMinutes(1)).Backend(fx.Backend);
        var locks = Gauge.Read(CachifyTelemetry.LockCount, Memory);
        var scheduled = Gauge.Read(CachifyTelemetry.ScheduledCount, Memory);

        var callers = new[] { f.Invoke(1), f.Invoke(1), f.Invoke(1), f.Invoke(2), f.Invoke(2) };
        Assert.Equal(locks + 2, Gauge.Read(CachifyTelemetry.LockCount, Memory)); // two keys running, three callers joined
        Assert.Equal(0, Gauge.Read(CachifyTelemetry.EntryCount, Memory, Function));

        release.SetResult();
        await Task.WhenAll(callers).Within("the calls ended");
        Assert.Equal(locks, Gauge.Read(CachifyTelemetry.LockCount, Memory));
        Assert.Equal(scheduled + 2, Gauge.Read(CachifyTelemetry.ScheduledCount, Memory)); // one expiry per entry
        Assert.Equal(2, Gauge.Read(CachifyTelemetry.EntryCount, Memory, Function));

        f.Invalidate(1);
        fx.Advance(TimeSpan.FromMinutes(1)); // the other expires
        Assert.Equal(scheduled, Gauge.Read(CachifyTelemetry.ScheduledCount, Memory));
        Assert.Equal(0, Gauge.Read(CachifyTelemetry.EntryCount, Memory, Function));

        fx.Dispose();
        Assert.Null(Gauge.TryRead(CachifyTelemetry.EntryCount, Memory, Function)); // a disposed backend leaves the gauges
    }

    [Fact]
    public async Task Gauges_NeverDieEntry_IsScheduledUntilInvalidated()
    {
        using var fx = new MemoryFixture();
        var f = Cachify.Wrap((int x) => x).Named("gauges.neverdie").Ttl(TimeSpan.FromSeconds(1)).NeverDie().Backend(fx.Backend);
        var scheduled = Gauge.Read(CachifyTelemetry.ScheduledCount, Memory);

        f.Invoke(1);
        fx.Advance(TimeSpan.FromSeconds(1)); // refreshed, and scheduled again
        await fx.RefreshesDone();
        Assert.Equal(scheduled + 1, Gauge.Read(CachifyTelemetry.ScheduledCount, Memory));

        f.Invalidate(1);
        Assert.Equal(scheduled, Gauge.Read(CachifyTelemetry.ScheduledCount, Memory));
    }

    [Fact]
    public void Gauges_BackendNeverDisposed_IsNotKeptAliveByTheMeter()
    {
        var services = CreateAndUse();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(services.IsAlive);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateAndUse()
    {
        // No entry: a scheduled one would keep the backend's parts alive on its scheduler thread for a while.
        // The gauges hold the backend's services (its scheduler and keyspaces), so that is what must go.
        var backend = new MemoryCacheBackend();
        Gauge.Read(CachifyTelemetry.LockCount, Memory);
        return new WeakReference(((ICacheBackend)backend).Services);
    }
}

/// <summary>Reads an observable instrument of the "Cachify" meter once, as a metrics exporter does at collection.</summary>
internal static class Gauge
{
    public static long Read(string instrument, string backend, string? function = null)
        => TryRead(instrument, backend, function) ?? throw new InvalidOperationException($"{instrument} reported nothing for {backend} {function}.");

    /// <summary>The measurement tagged <paramref name="backend"/> (and <paramref name="function"/>), or null when none was reported.</summary>
    public static long? TryRead(string instrument, string backend, string? function = null)
    {
        using var collector = new MetricCollector<long>(null, CachifyTelemetry.Name, instrument);
        collector.RecordObservableInstruments();
        var matching = collector.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags[CachifyTelemetry.BackendTag], backend)
                && (function is null || (m.Tags.TryGetValue(CachifyTelemetry.FunctionTag, out var name) && Equals(name, function))))
            .ToList();
        return matching.Count == 0 ? null : Assert.Single(matching).Value;
    }
}

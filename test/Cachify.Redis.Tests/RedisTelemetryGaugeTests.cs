using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The leak-signal gauges of the "Cachify" meter for Redis backends, read as an app's metrics pipeline reads them. They
/// add up every live backend of the process, so these tests run alone and compare with a reading taken before.
/// </summary>
[Collection(nameof(RedisGauges))]
public class RedisTelemetryGaugeTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    private const string Redis = "redis";

    [RedisFact]
    public async Task Gauges_ProcessWaitsForAnothersLock_CountWaiterAndLocksThenGoBack()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = NewBackend();
        var b = NewBackend(connection: NewConnection());
        var fa = Cachify.Wrap(async (int x) => { entered.TrySetResult(); await release.Task; return x; }).Named("gauges").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => Task.FromResult(-x)).Named("gauges").NoSelf().Backend(b);
        var waiters = Read(CachifyTelemetry.LockWaiterCount);
        var locks = Read(CachifyTelemetry.LockCount);

        var owner = fa.Invoke(1);
        await entered.Task.Within("a runs the function");
        var waiter = fb.Invoke(1);
        Bounded.Until(() => b.Context.Waiters.Count == 1, "b waits for a's lock");
        Assert.Equal(waiters + 1, Read(CachifyTelemetry.LockWaiterCount));
        Assert.Equal(locks + 2, Read(CachifyTelemetry.LockCount)); // the key in each process's lock table

        release.SetResult();
        Assert.Equal(1, await owner.Within("a stored the value"));
        Assert.Equal(1, await waiter.Within("b read a's value"));
        Assert.Equal(waiters, Read(CachifyTelemetry.LockWaiterCount));
        Assert.Equal(locks, Read(CachifyTelemetry.LockCount));
    }

    [RedisFact]
    public void Gauges_NeverDieEntry_IsScheduledUntilInvalidated()
    {
        var f = Cachify.Wrap((int x) => x).Named("gauges.neverdie").NoSelf().Ttl(TimeSpan.FromMinutes(1)).NeverDie().Backend(Backend);
        var scheduled = Read(CachifyTelemetry.ScheduledCount);

        f.Invoke(1);
        Assert.Equal(scheduled + 1, Read(CachifyTelemetry.ScheduledCount)); // this process refreshes it

        f.Invalidate(1);
        Assert.Equal(scheduled, Read(CachifyTelemetry.ScheduledCount));
    }

    [RedisFact]
    public void Gauges_LocalCopies_AreCountedAsEntriesOfTheirFunction_NotAsScheduledItems()
    {
        var backend = NewBackend();
        Bounded.Until(() => backend.LocalLevelTrusted, "the local level's backplane is subscribed");
        var f = Cachify.Wrap((int x) => x).Named("gauges.copies").NoSelf().Ttl(TimeSpan.FromMinutes(1)).Backend(backend);
        var scheduled = Read(CachifyTelemetry.ScheduledCount);

        f.Invoke(1);
        f.Invoke(2);
        Assert.Equal(2, ReadFunction(CachifyTelemetry.EntryCount, "gauges.copies"));
        Assert.Equal(scheduled, Read(CachifyTelemetry.ScheduledCount)); // a copy's expiry is upkeep, not an entry's TTL

        f.Invalidate(1);
        Assert.Equal(1, ReadFunction(CachifyTelemetry.EntryCount, "gauges.copies"));
    }

    private static long ReadFunction(string instrument, string function)
    {
        using var collector = new MetricCollector<long>(null, CachifyTelemetry.Name, instrument);
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags[CachifyTelemetry.BackendTag], Redis) && Equals(m.Tags[CachifyTelemetry.FunctionTag], function)).Value;
    }

    /// <summary>The measurement tagged with the Redis backend, read once as a metrics exporter does at collection.</summary>
    private static long Read(string instrument)
    {
        using var collector = new MetricCollector<long>(null, CachifyTelemetry.Name, instrument);
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags[CachifyTelemetry.BackendTag], Redis)).Value;
    }
}

/// <summary>Tests that read the process-wide gauges run alone in this assembly.</summary>
[CollectionDefinition(nameof(RedisGauges), DisableParallelization = true)]
public sealed class RedisGauges;

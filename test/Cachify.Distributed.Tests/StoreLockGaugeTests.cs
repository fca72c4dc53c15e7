using CachifyNet.Stores;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace CachifyNet.Distributed.Tests;

/// <summary>The <c>cachify.lock.waiter.count</c> gauge of store backends with a lock: the callers waiting for another process's lock.</summary>
[Collection(nameof(StoreGauges))]
public sealed class StoreLockGaugeTests
{
    [Fact]
    public async Task Gauge_CountsTheCallersWaitingForAnotherProcess_AndFallsBackWhenTheyAreServed()
    {
        var shared = new LockingDictionaryStore.Shared();
        var backplane = new InProcessBackplane();
        var options = new CacheStoreBackendOptions { KeyPrefix = "g" + Guid.NewGuid().ToString("N")[..8], Backplane = backplane };
        using var a = new CacheStoreBackend(new LockingDictionaryStore(shared), options);
        using var b = new CacheStoreBackend(new LockingDictionaryStore(shared), options);
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fa = Cachify.Wrap((int x) => release.Task).Named("gauge").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => Task.FromResult(-x)).Named("gauge").NoSelf().Backend(b);
        var before = Read();

        var owner = fa.Invoke(1);
        Bounded.Until(() => shared.Acquired == 1, "a took the lock");
        var waiter = fb.Invoke(1);
        Bounded.Until(() => b.Context.Waiters.Count == 1, "b waits for a's lock");
        Assert.Equal(before + 1, Read());

        release.SetResult(1);
        Assert.Equal(1, await owner.Within("a stored the value"));
        Assert.Equal(1, await waiter.Within("b read a's value"));
        Assert.Equal(before, Read());
    }

    /// <summary>The measurement tagged with the store backend, read once as a metrics exporter does at collection.</summary>
    private static long Read()
    {
        using var collector = new MetricCollector<long>(null, CachifyTelemetry.Name, CachifyTelemetry.LockWaiterCount);
        collector.RecordObservableInstruments();
        return Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags[CachifyTelemetry.BackendTag], "store")).Value;
    }
}

/// <summary>Tests that read the process-wide gauges run alone in this assembly.</summary>
[CollectionDefinition(nameof(StoreGauges), DisableParallelization = true)]
public sealed class StoreGauges;

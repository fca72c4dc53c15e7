namespace CachifyNet.Internal;

/// <summary>
/// Finds Cachify entries that the <see cref="Microsoft.Extensions.Caching.Memory.IMemoryCache"/> evicted on its
/// own (overcapacity compaction, or the app calling <c>Compact</c>/<c>Clear</c>) and drops them from the typed
/// front. Eviction callbacks would tell at once, but cost 128 bytes and a thread-pool task per entry, so the
/// backend checks instead: right after the cache rejects an insert (a compaction is then under way), and once
/// a minute while it holds entries. Entries left behind meanwhile are still within their TTL: never wrong.
/// </summary>
internal sealed class MemorySweeper(BackendServices services) : ScheduledItem
{
    /// <summary>How soon after a rejected insert the sweep runs (the cache compacts in the background meanwhile).</summary>
    public static readonly TimeSpan AfterPressure = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the sweep runs while the backend holds entries.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private int _armed;
    private int _running;

    internal override bool IsDead => services.IsDisposed;

    internal override bool IsHousekeeping => true;

    /// <summary>Called when an entry is stored: makes sure a periodic sweep is scheduled.</summary>
    public void OnStored()
    {
        if (Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            services.Scheduler.ScheduleNoLaterThan(this, services.Now + services.ToTicks(Period));
        }
    }

    /// <summary>Called when the cache rejected an insert: sweep soon.</summary>
    public void OnPressure()
    {
        Interlocked.Exchange(ref _armed, 1);
        services.Scheduler.ScheduleNoLaterThan(this, services.Now + services.ToTicks(AfterPressure));
    }

    internal override void OnDue()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            // A sweep is running: look again shortly rather than drop this one.
            services.Scheduler.ScheduleNoLaterThan(this, services.Now + services.ToTicks(AfterPressure));
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static sweeper => sweeper.SweepNow(), this, preferLocal: false);
    }

    /// <summary>Sweeps every keyspace now (tests call it directly).</summary>
    public void Sweep()
    {
        while (Interlocked.Exchange(ref _running, 1) == 1)
        {
            Thread.Yield();
        }

        SweepNow();
    }

    private void SweepNow()
    {
        try
        {
            var remaining = 0;
            foreach (var keyspace in services.Keyspaces)
            {
                remaining += keyspace.Sweep();
            }

            Volatile.Write(ref _armed, 0);
            if (remaining > 0)
            {
                OnStored();
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}

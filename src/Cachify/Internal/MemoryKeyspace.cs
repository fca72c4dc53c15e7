using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet.Internal;

/// <summary>
/// The entries of one function in memory. A typed dictionary (the front) serves hits without boxing,
/// clock reads or locks; every entry is also an <see cref="IMemoryCache"/> entry, so the app's cache
/// accounts for its size. An entry the cache rejects is dropped at once; one it evicts later (compaction,
/// Clear) is dropped by the <see cref="MemorySweeper"/>. Expiry is done by the backend's scheduler at TTL,
/// which sets <see cref="MemoryEntry{TKey, TValue}.Expired"/>.
/// </summary>
internal sealed class MemoryKeyspace<TKey, TValue> : Keyspace<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    private readonly ConcurrentDictionary<TKey, MemoryEntry<TKey, TValue>> _front = new();
    private readonly IMemoryCache _cache;
    private readonly long _entrySize;
    private readonly MemorySweeper _sweeper;

    public MemoryKeyspace(BackendServices services, string identity, IMemoryCache cache, long entrySize, MemorySweeper sweeper)
        : base(services, identity)
    {
        _cache = cache;
        _entrySize = entrySize;
        _sweeper = sweeper;
    }

    /// <summary>Number of live entries (tests).</summary>
    public int Count => _front.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryGet(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        if (_front.TryGetValue(key, out var entry) && Serves(entry, reader))
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, out Task<TValue>? task)
    {
        if (_front.TryGetValue(key, out var entry) && Serves(entry, reader))
        {
            task = entry.Task ??= Task.FromResult(entry.Value);
            return true;
        }

        task = null;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Serves(MemoryEntry<TKey, TValue> entry, Binding<TKey, TValue> reader)
    {
        if (entry.Expired)
        {
            return false;
        }

        if (!reader.TrustsWriter(entry.Writer) && Services.Now - entry.CreatedAt >= reader.TtlTicks)
        {
            // Written by a wrapper with a longer lifetime: older than this reader's TTL promises.
            return false;
        }

        if (entry.NeverDie is not null && !entry.Touched)
        {
            entry.Touched = true;
        }

        return true;
    }

    public override void Remove(in TKey key)
    {
        Locks.Doom(key);
        if (_front.TryGetValue(key, out var entry))
        {
            Evict(entry);
        }
    }

    public override void Clear()
    {
        NextGeneration();
        Locks.DoomAll();
        foreach (var pair in _front)
        {
            Evict(pair.Value);
        }
    }

    protected override TValue Produce<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
    {
        var generation = Generation;
        if (!skipCache && TryGet(in key, binding, out var hit))
        {
            return hit;
        }

        var value = Execute(binding, in args, flight);
        Store(in key, value, binding, in args, flight, generation, (MemoryEntry<TKey, TValue>?)refreshing);
        return value;
    }

    protected override async Task<TValue> ProduceAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
    {
        var generation = Generation;
        if (!skipCache && TryGet(in key, binding, out var hit))
        {
            return hit;
        }

        var value = await ExecuteAsync(binding, args, flight).ConfigureAwait(false);
        Store(in key, value, binding, in args, flight, generation, (MemoryEntry<TKey, TValue>?)refreshing);
        return value;
    }

    protected override bool IsCurrent(in TKey key, ScheduledItem item) => !item.IsDead;

    protected override bool TryGetStale(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        if (reader.MaxStaleTicks > 0 && _front.TryGetValue(key, out var entry) && !entry.Removed && Services.Now - entry.CreatedAt < reader.MaxStaleTicks)
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    protected override void OnRefreshFailed(ScheduledItem item, Exception error)
    {
        var entry = (MemoryEntry<TKey, TValue>)item;
        var state = entry.NeverDie!;
        state.Failures++;
        var delay = state.RetryDelay();
        Log.RefreshFailed(Logger, entry.Writer.Name, state.Failures, Math.Round(Services.ToTimeSpan(delay).TotalMilliseconds, 1), error);
        Services.Scheduler.Schedule(entry, Services.Now + delay);
    }

    /// <summary>The scheduler's callback: expire a TTL entry (keeping it as a stale value if its writer asks), or refresh a never-die one (unless idle).</summary>
    internal void OnDue(MemoryEntry<TKey, TValue> entry)
    {
        if (entry.NeverDie is not { } state)
        {
            var staleUntil = entry.CreatedAt + entry.Writer.MaxStaleTicks;
            if (!entry.Expired && entry.Writer.MaxStaleTicks > entry.Writer.TtlTicks)
            {
                // Past its TTL: no longer a hit, but a soft timeout may still serve it until staleUntil.
                entry.Expired = true;
                Services.Scheduler.Schedule(entry, staleUntil);
                return;
            }

            Evict(entry);
            return;
        }

        if (!IsInCache(entry))
        {
            // The memory cache evicted it (size limit): it leaves the never-die registry too.
            Evict(entry);
            return;
        }

        var now = Services.Now;
        if (entry.Touched)
        {
            entry.Touched = false;
            state.LastRead = now;
        }

        if (now - state.LastRead >= state.Binding.IdleTicks)
        {
            // Nobody read it for the idle limit: stop refreshing and let it go.
            Evict(entry);
            return;
        }

        state.StartRefresh(entry.Key, entry);
    }

    private void Store<TArgs>(in TKey key, TValue value, Binding<TKey, TArgs, TValue> binding, in TArgs args, Flight<TValue> flight, int generation, MemoryEntry<TKey, TValue>? refreshed)
    {
        if (!MayStore(flight, generation) || Services.IsDisposed)
        {
            return;
        }

        var now = Services.Now;
        NeverDieState<TKey, TValue>? neverDie = null;
        if (binding.NeverDie)
        {
            if (refreshed?.NeverDie is { } kept && ReferenceEquals(kept.Binding, binding))
            {
                neverDie = kept;
                neverDie.Failures = 0;
                if (refreshed.Touched)
                {
                    neverDie.LastRead = now;
                }
            }
            else
            {
                neverDie = new NeverDieState<TKey, TArgs, TValue>(binding, args) { LastRead = now };
            }
        }

        var entry = new MemoryEntry<TKey, TValue>(binding, in key, value, now, neverDie);
        MemoryEntry<TKey, TValue>? old;
        while (true)
        {
            if (_front.TryGetValue(key, out old))
            {
                if (refreshed is not null && !ReferenceEquals(old, refreshed))
                {
                    return; // replaced or removed while refreshing: the newer state wins
                }

                if (_front.TryUpdate(key, entry, old))
                {
                    break;
                }
            }
            else
            {
                if (refreshed is not null)
                {
                    return;
                }

                if (_front.TryAdd(key, entry))
                {
                    break;
                }
            }
        }

        if (old is not null)
        {
            old.Retired = true;
            Services.Scheduler.Unschedule(old);
            RemoveFromCache(old);
        }

        if (binding.TtlTicks != long.MaxValue)
        {
            Services.Scheduler.Schedule(entry, now + binding.TtlTicks);
        }

        Admit(entry);
        _sweeper.OnStored();
        if (!MayStore(flight, generation))
        {
            // Invalidate or Clear ran while we stored: they may have missed this entry.
            Evict(entry);
        }
    }

    /// <summary>Adds the entry to the app's <see cref="IMemoryCache"/>; a rejected entry (size limit) is dropped at once.</summary>
    private void Admit(MemoryEntry<TKey, TValue> entry)
    {
        try
        {
            using (var cacheEntry = _cache.CreateEntry(entry))
            {
                cacheEntry.Value = entry;
                cacheEntry.Size = _entrySize;
            }

            if (_cache.TryGetValue(entry, out _))
            {
                return;
            }

            // Rejected: the cache is at its size limit and starts a compaction in the background.
            _sweeper.OnPressure();
        }
        catch (ObjectDisposedException)
        {
            // The app disposed its cache (shutting down): serve the result uncached.
        }

        Evict(entry);
    }

    /// <summary>Drops the entries the memory cache evicted on its own; returns how many remain.</summary>
    public override int Sweep()
    {
        foreach (var pair in _front)
        {
            if (!IsInCache(pair.Value))
            {
                Evict(pair.Value);
            }
        }

        return _front.Count;
    }

    private bool IsInCache(MemoryEntry<TKey, TValue> entry)
    {
        try
        {
            return _cache.TryGetValue(entry, out _);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Removes an entry for good: from the front, the scheduler and the memory cache. Idempotent.</summary>
    internal void Evict(MemoryEntry<TKey, TValue> entry)
    {
        entry.Expired = true;
        entry.Removed = true;
        _front.TryRemove(new KeyValuePair<TKey, MemoryEntry<TKey, TValue>>(entry.Key, entry));
        Services.Scheduler.Unschedule(entry);
        RemoveFromCache(entry);
    }

    private void RemoveFromCache(MemoryEntry<TKey, TValue> entry)
    {
        try
        {
            _cache.Remove(entry);
        }
        catch (ObjectDisposedException)
        {
            // Nothing to remove from a disposed cache.
        }
    }
}

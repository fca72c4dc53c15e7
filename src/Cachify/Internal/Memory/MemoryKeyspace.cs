using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet.Internal;

/// <summary>
/// The entries of one function (for one target) in memory. A typed dictionary (the front) serves hits
/// without boxing, clock reads or locks: the value and its writer sit in the dictionary node. Every entry
/// is also an <see cref="IMemoryCache"/> entry, so the app's cache accounts for its size. An entry the
/// cache rejects is dropped at once; one it evicts later (compaction, Clear) is dropped by the
/// <see cref="MemorySweeper"/>. The backend's scheduler removes entries at TTL.
/// </summary>
internal sealed class MemoryKeyspace<TKey, TValue> : Keyspace<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    private readonly ConcurrentDictionary<TKey, Slot<TKey, TValue>> _front = new();

    /// <summary>The front of a function without arguments: its one possible key needs no dictionary.</summary>
    private SlotBox? _single;
    /// <summary>The app's cache every entry is also in; null for a backend of its own (entries live in the front alone).</summary>
    private readonly IMemoryCache? _cache;
    private readonly long _entrySize;
    private readonly MemorySweeper _sweeper;
    private readonly bool _mayReject;

    /// <summary>Whether keys carry a target (then even a function without arguments has many keys).</summary>
    private readonly bool _targeted;

    public MemoryKeyspace(BackendServices services, string identity, IMemoryCache? cache, long entrySize, MemorySweeper sweeper, bool mayReject, bool targeted)
        : base(services, identity)
    {
        _targeted = targeted;
        _cache = cache;
        _entrySize = entrySize;
        _sweeper = sweeper;
        _mayReject = mayReject;
    }

    /// <summary>Number of entries in the front, stale ones included.</summary>
    public int Count => IsSingle ? (Volatile.Read(ref _single) is null ? 0 : 1) : _front.Count;

    public override int? EntryCount => Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryGet(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        if (FrontTryGet(in key, out var slot) && (ReferenceEquals(slot.Writer, reader) ? Touch(in slot, reader) : ServesOther(in slot, reader)))
        {
            value = slot.Value;
            return true;
        }

        value = default!;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, out Task<TValue>? task)
    {
        if (FrontTryGet(in key, out var slot) && (ReferenceEquals(slot.Writer, reader) ? Touch(in slot, reader) : ServesOther(in slot, reader)))
        {
            task = slot.Entry.Task ??= Task.FromResult(slot.Value);
            return true;
        }

        task = null;
        return false;
    }

    /// <summary>A hit on an entry this reader wrote: note the read when it has an idle limit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Touch(in Slot<TKey, TValue> slot, Binding<TKey, TValue> reader)
    {
        if (reader.TracksReads)
        {
            slot.Entry.Touched = true;
        }

        return true;
    }

    /// <summary>
    /// An entry written by another wrapper of the function: served when its lifetime is within this reader's
    /// promise, or when it is young enough. A stale slot (no writer) is never a hit.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ServesOther(in Slot<TKey, TValue> slot, Binding<TKey, TValue> reader)
    {
        if (slot.Writer is not { } writer || (!reader.TrustsWriter(writer) && Services.Now - slot.Entry.CreatedAt >= reader.TtlTicks))
        {
            return false;
        }

        if (writer.TracksReads)
        {
            slot.Entry.Touched = true;
        }

        return true;
    }

    public override void Remove(in TKey key)
    {
        Locks.Doom(key);
        if (FrontTryGet(in key, out var slot))
        {
            Evict(slot.Entry);
        }
    }

    public override void Clear()
    {
        NextGeneration();
        Locks.DoomAll();
        foreach (var entry in FrontEntries())
        {
            Evict(entry);
        }
    }

    internal override Producer<TArgs> CreateProducer<TArgs>() => new MemoryProducer<TArgs>(this);

    /// <summary>Calls this keyspace's owner work directly (no generic virtual call on a miss).</summary>
    private sealed class MemoryProducer<TArgs>(MemoryKeyspace<TKey, TValue> keyspace) : Producer<TArgs>(keyspace)
    {
        public override TValue Produce(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
            => keyspace.ProduceHere(in key, in args, binding, flight, skipCache, refreshing);

        public override Task<TValue> ProduceAsync(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
            => keyspace.ProduceHereAsync(key, args, binding, flight, skipCache, refreshing);
    }

    protected override TValue Produce<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
        => ProduceHere(in key, in args, binding, flight, skipCache, refreshing);

    protected override Task<TValue> ProduceAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
        => ProduceHereAsync(key, args, binding, flight, skipCache, refreshing);

    private TValue ProduceHere<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
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

    private Task<TValue> ProduceHereAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
    {
        var generation = Generation;
        if (!skipCache && TryGet(in key, binding, out var hit))
        {
            return Task.FromResult(hit);
        }

        var execution = ExecuteAsync(binding, args, flight);
        if (!execution.IsCompletedSuccessfully)
        {
            return StoreWhenDone(execution, key, args, binding, flight, generation, (MemoryEntry<TKey, TValue>?)refreshing);
        }

        // Completed already: stored now, and the function's own task is the result (no state machine, no task of ours).
        Store(in key, execution.Result, binding, in args, flight, generation, (MemoryEntry<TKey, TValue>?)refreshing);
        return execution;
    }

    private async Task<TValue> StoreWhenDone<TArgs>(Task<TValue> execution, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation, MemoryEntry<TKey, TValue>? refreshing)
    {
        var value = await execution.ConfigureAwait(false);
        Store(in key, value, binding, in args, flight, generation, refreshing);
        return value;
    }

    protected override bool IsCurrent(in TKey key, ScheduledItem item) => !item.IsDead;

    protected override bool TryGetStale(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        if (reader.MaxStaleTicks > 0 && FrontTryGet(in key, out var slot) && Services.Now - slot.Entry.CreatedAt < reader.MaxStaleTicks)
        {
            value = slot.Value;
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

    /// <summary>
    /// The scheduler's callback: remove a TTL entry (or first keep it as a stale value when its writer has a
    /// soft timeout), or refresh a never-die entry (unless evicted or idle).
    /// </summary>
    internal void OnDue(MemoryEntry<TKey, TValue> entry)
    {
        if (entry.NeverDie is not { } state)
        {
            var writer = entry.Writer;
            if (!entry.Stale && writer.MaxStaleTicks > writer.TtlTicks && MarkStale(entry))
            {
                Services.Scheduler.Schedule(entry, entry.CreatedAt + writer.MaxStaleTicks);
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

    /// <summary>Turns the entry's slot into a stale one: no longer a hit, still there for soft timeouts.</summary>
    private bool MarkStale(MemoryEntry<TKey, TValue> entry)
    {
        while (FrontTryGet(in entry.Key, out var slot) && ReferenceEquals(slot.Entry, entry))
        {
            if (FrontTryUpdate(in entry.Key, new Slot<TKey, TValue>(slot.Value, writer: null, entry), slot))
            {
                entry.Stale = true;
                return true;
            }
        }

        return false;
    }

    private void Store<TArgs>(in TKey key, TValue value, Binding<TKey, TArgs, TValue> binding, in TArgs args, Flight<TValue> flight, int generation, MemoryEntry<TKey, TValue>? refreshed)
    {
        MemoryEntry<TKey, TValue> entry;
        MemoryEntry<TKey, TValue>? old;
        long now;

        // Invalidate and Clear doom every running execution before they remove entries (Clear after starting a new
        // generation), and so does Dispose, through Clear; dooming waits for a store in progress. Checked and inserted
        // in the flight's store window, a store either ends before they look at the front, which then holds the entry
        // for them to remove, or sees that it may not store: nothing computed before they return is stored, or served, after.
        if (!flight.TryBeginStore())
        {
            return;
        }

        var stored = false;
        try
        {
            if (generation != Generation || Services.IsDisposed)
            {
                return;
            }

            now = Services.Now;
            if (!TryInsert(in key, value, binding, in args, now, refreshed, out entry, out old))
            {
                return;
            }

            stored = true;
        }
        finally
        {
            flight.EndStore(stored);
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
    }

    /// <summary>
    /// Puts a new entry for <paramref name="value"/> in the front, replacing the key's current one (returned in
    /// <paramref name="old"/>). A refresh only replaces the entry it refreshes: false when that one is gone.
    /// </summary>
    private bool TryInsert<TArgs>(in TKey key, TValue value, Binding<TKey, TArgs, TValue> binding, in TArgs args, long now, MemoryEntry<TKey, TValue>? refreshed, out MemoryEntry<TKey, TValue> entry, out MemoryEntry<TKey, TValue>? old)
    {
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

        entry = new MemoryEntry<TKey, TValue>(binding, in key, now, neverDie);
        var slot = new Slot<TKey, TValue>(value, binding, entry);
        old = null;
        while (true)
        {
            if (FrontTryGet(in key, out var current))
            {
                if (refreshed is not null && !ReferenceEquals(current.Entry, refreshed))
                {
                    return false; // replaced or removed while refreshing: the newer state wins
                }

                if (FrontTryUpdate(in key, slot, current))
                {
                    old = current.Entry;
                    return true;
                }
            }
            else
            {
                if (refreshed is not null)
                {
                    return false;
                }

                if (FrontTryAdd(in key, slot))
                {
                    return true;
                }
            }
        }
    }

    /// <summary>Adds the entry to the app's <see cref="IMemoryCache"/>; a rejected entry (size limit) is dropped at once.</summary>
    private void Admit(MemoryEntry<TKey, TValue> entry)
    {
        if (_cache is null)
        {
            return;
        }

        try
        {
            using (var cacheEntry = _cache.CreateEntry(entry))
            {
                cacheEntry.Value = entry;
                cacheEntry.Size = _entrySize;
            }

            if (entry.IsDead)
            {
                // Evicted (a sweep, Invalidate, Clear), or replaced by a newer store (possible once a timeout or Invalidate
                // detached this execution), between entering the front and entering the cache: leave no orphan.
                RemoveFromCache(entry);
                return;
            }

            if (!_mayReject || _cache.TryGetValue(entry, out _))
            {
                if (entry.IsDead)
                {
                    // A sweep evicted the entry between its insertion in the front and in the cache (it was not in the
                    // cache yet, so the sweep took it for evicted): without this it would stay in the cache for good.
                    RemoveFromCache(entry);
                }

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

    /// <summary>
    /// Drops the entries the memory cache evicted on its own, and those of instances that were collected (no key can
    /// name them again); returns how many remain.
    /// </summary>
    public override int Sweep()
    {
        foreach (var entry in FrontEntries())
        {
            if (!IsInCache(entry) || TargetKey.IsOrphan(entry.Key.Target))
            {
                Evict(entry);
            }
        }

        return Count;
    }

    /// <summary>Removes an entry for good: from the front, the scheduler and the memory cache. Idempotent.</summary>
    internal void Evict(MemoryEntry<TKey, TValue> entry)
    {
        entry.Removed = true;
        FrontTryRemove(entry);
        Services.Scheduler.Unschedule(entry);
        RemoveFromCache(entry);
    }

    // ---------------------------------------------------------------- the front: a dictionary, or one slot for no arguments

    /// <summary>True for functions without arguments (decided by the JIT per instantiation: no branch at run time).</summary>
    private bool IsSingle => typeof(TKey) == typeof(ArgsKey) && !_targeted;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FrontTryGet(in TKey key, out Slot<TKey, TValue> slot)
    {
        if (IsSingle)
        {
            if (Volatile.Read(ref _single) is { } box)
            {
                slot = box.Slot;
                return true;
            }

            slot = default;
            return false;
        }

        return _front.TryGetValue(key, out slot);
    }

    private bool FrontTryAdd(in TKey key, Slot<TKey, TValue> slot)
        => IsSingle ? Interlocked.CompareExchange(ref _single, new SlotBox(slot), null) is null : _front.TryAdd(key, slot);

    private bool FrontTryUpdate(in TKey key, Slot<TKey, TValue> slot, Slot<TKey, TValue> comparand)
    {
        if (!IsSingle)
        {
            return _front.TryUpdate(key, slot, comparand);
        }

        var current = Volatile.Read(ref _single);
        return current is not null && current.Slot.Equals(comparand)
            && ReferenceEquals(Interlocked.CompareExchange(ref _single, new SlotBox(slot), current), current);
    }

    private void FrontTryRemove(MemoryEntry<TKey, TValue> entry)
    {
        if (!IsSingle)
        {
            _front.TryRemove(new KeyValuePair<TKey, Slot<TKey, TValue>>(entry.Key, Slot<TKey, TValue>.Of(entry)));
            return;
        }

        var current = Volatile.Read(ref _single);
        if (current is not null && ReferenceEquals(current.Slot.Entry, entry))
        {
            Interlocked.CompareExchange(ref _single, null, current);
        }
    }

    private IEnumerable<MemoryEntry<TKey, TValue>> FrontEntries()
    {
        if (IsSingle)
        {
            if (Volatile.Read(ref _single) is { } box)
            {
                yield return box.Slot.Entry;
            }

            yield break;
        }

        foreach (var pair in _front)
        {
            yield return pair.Value.Entry;
        }
    }

    /// <summary>An immutable holder, so the one slot of a function without arguments is replaced atomically.</summary>
    private sealed class SlotBox(Slot<TKey, TValue> slot)
    {
        public readonly Slot<TKey, TValue> Slot = slot;
    }

    private bool IsInCache(MemoryEntry<TKey, TValue> entry)
    {
        if (_cache is null)
        {
            return true;
        }

        try
        {
            return _cache.TryGetValue(entry, out _);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private void RemoveFromCache(MemoryEntry<TKey, TValue> entry)
    {
        if (_cache is null)
        {
            return;
        }

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

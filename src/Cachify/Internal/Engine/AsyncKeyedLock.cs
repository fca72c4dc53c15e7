using System.Collections.Concurrent;
using Nito.AsyncEx;

namespace CachifyNet.Internal;

/// <summary>
/// The per-key lock table of one keyspace. A key's <see cref="Gate"/> exists only while somebody uses it
/// (reference counted), so the table never grows with the number of distinct keys ever seen.
/// </summary>
internal sealed class AsyncKeyedLock<TKey, TValue>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Gate> _gates = new();

    /// <summary>Number of keys in use right now.</summary>
    public int Count => _gates.Count;

    /// <summary>Takes a reference to the key's gate, creating it if needed. Pair with <see cref="Exit"/>.</summary>
    public Gate Enter(TKey key)
    {
        var spinner = default(SpinWait);
        while (true)
        {
            if (_gates.TryGetValue(key, out var gate))
            {
                if (gate.TryAddRef())
                {
                    return gate;
                }

                // The gate is being removed by its last user; the removal completes in a moment.
                spinner.SpinOnce();
                continue;
            }

            gate = new Gate();
            if (_gates.TryAdd(key, gate))
            {
                return gate;
            }
        }
    }

    /// <summary>Releases a reference taken by <see cref="Enter"/> or <see cref="Gate.AddRef"/>.</summary>
    public void Exit(TKey key, Gate gate)
    {
        if (gate.Release())
        {
            _gates.TryRemove(new KeyValuePair<TKey, Gate>(key, gate));
        }
    }

    /// <summary>How many callers hold the key's gate now (tests: every waiter of a synchronous call holds one).</summary>
    public int Users(TKey key) => _gates.TryGetValue(key, out var gate) ? Math.Max(0, gate.Refs) : 0;

    /// <summary>The execution running for <paramref name="key"/>, if any (no reference is taken).</summary>
    public Flight<TValue>? Current(TKey key) => _gates.TryGetValue(key, out var gate) ? Volatile.Read(ref gate.Current) : null;

    /// <summary>Marks the running execution of a key as doomed and detaches it, so new callers start afresh.</summary>
    public void Doom(TKey key)
    {
        if (_gates.TryGetValue(key, out var gate))
        {
            gate.Doom();
        }
    }

    /// <summary>Dooms and detaches every running execution.</summary>
    public void DoomAll()
    {
        foreach (var pair in _gates)
        {
            pair.Value.Doom();
        }
    }

    /// <summary>The state of one key: who executes now, and the queue of skip-cache callers.</summary>
    internal sealed class Gate
    {
        private int _refs = 1;
        private int _queued;
        private AsyncLock? _exclusive;

        /// <summary>The execution callers join; set by CAS from null, cleared by its owner.</summary>
        public Flight<TValue>? Current;

        /// <summary>
        /// Serialises contended skip-cache callers of this key in arrival order (Nito's fair async lock,
        /// usable both blocking and async, with cancellation), so each of them runs the function once.
        /// Created only when a skip-cache caller finds the key busy.
        /// </summary>
        public AsyncLock Exclusive
        {
            get
            {
                var existing = Volatile.Read(ref _exclusive);
                return existing ?? Interlocked.CompareExchange(ref _exclusive, new AsyncLock(), null) ?? _exclusive!;
            }
        }

        public int Refs => Volatile.Read(ref _refs);

        /// <summary>True while skip-cache callers wait in <see cref="Exclusive"/>: a newcomer must queue behind them.</summary>
        public bool HasQueue => Volatile.Read(ref _queued) > 0;

        public void EnterQueue() => Interlocked.Increment(ref _queued);

        public void LeaveQueue() => Interlocked.Decrement(ref _queued);

        /// <summary>Takes one more reference; only valid while the caller already holds one.</summary>
        public void AddRef() => Interlocked.Increment(ref _refs);

        /// <summary>Installs <paramref name="flight"/> as the execution of this key if none runs.</summary>
        public bool TryStart(Flight<TValue> flight) => Interlocked.CompareExchange(ref Current, flight, null) is null;

        /// <summary>Clears <paramref name="flight"/> if it is still the current execution.</summary>
        public void Finish(Flight<TValue> flight) => Interlocked.CompareExchange(ref Current, null, flight);

        public void Doom()
        {
            if (Volatile.Read(ref Current) is { } flight)
            {
                flight.Doom();
                Finish(flight);
            }
        }

        internal bool TryAddRef()
        {
            var refs = Volatile.Read(ref _refs);
            while (refs > 0)
            {
                var seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
                if (seen == refs)
                {
                    return true;
                }

                refs = seen;
            }

            return false;
        }

        /// <summary>Drops a reference; true when it was the last (the gate is then dead and must be removed).</summary>
        internal bool Release()
        {
            // The only user (the common case): straight to dead, in one step.
            if (Interlocked.CompareExchange(ref _refs, -1, 1) == 1)
            {
                return true;
            }

            if (Interlocked.Decrement(ref _refs) != 0)
            {
                return false;
            }

            // 0 -> dead: TryAddRef never revives a gate at 0, so nobody else can be inside it now.
            return Interlocked.CompareExchange(ref _refs, -1, 0) == 0;
        }
    }
}

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// The local copies of one function's entries (see <see cref="LocalHub"/> for the rules that keep them coherent). A hit
/// reads one dictionary node and two fields: no clock, no lock, no allocation (the copy holds its completed task). A
/// copy leaves at its entry's expiry (the scheduler drops it), on a change of its entry, or past the size limit.
/// </summary>
internal sealed class LocalLevel<TKey, TValue>(LocalHub hub, string function, Func<TKey, string>? textOf) : ILocalLevel
    where TKey : struct, IArgsKey<TKey>
{
    private readonly LocalHub _hub = hub;
    private readonly Func<TKey, string>? _textOf = textOf;
    private readonly ConcurrentDictionary<TKey, Copy> _copies = new();
    private int _epoch;

    /// <summary>The function's name in notices (a Clear here clears it in every process).</summary>
    public string Function { get; } = function;

    public LocalHub Hub => _hub;

    public int Count => _copies.Count;

    /// <summary>
    /// A trusted copy for <paramref name="reader"/>. A copy of a never-die entry counts as a read of it (for its idle
    /// limit, in <paramref name="neverDie"/>); the caller has checked that a never-die reader's key is registered.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(in TKey key, Binding<TKey, TValue> reader, NeverDieRegistry<TKey, TValue> neverDie, out TValue value)
    {
        if (_copies.TryGetValue(key, out var copy) && _hub.Trusted && copy.Serves(reader, _hub.Services) && IsFor(copy, in key))
        {
            Touch(copy, in key, neverDie);
            value = copy.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// As <see cref="TryGet"/>, with the copy's completed task (made at its first asynchronous hit); false for a
    /// never-die reader whose key is not registered yet (its first read goes through the owner, which registers it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, NeverDieRegistry<TKey, TValue> neverDie, out Task<TValue>? task)
    {
        if (!(reader.NeverDie && !neverDie.Contains(in key)) && _copies.TryGetValue(key, out var copy) && _hub.Trusted && copy.Serves(reader, _hub.Services) && IsFor(copy, in key))
        {
            Touch(copy, in key, neverDie);
            task = copy.Task ??= Task.FromResult(copy.Value);
            return true;
        }

        task = null;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Touch(Copy copy, in TKey key, NeverDieRegistry<TKey, TValue> neverDie)
    {
        if (copy.NeverDie)
        {
            neverDie.Touch(in key);
        }
    }

    /// <summary>A copy even while the backplane is lost: the store failed too, and it is the last value this process knew (within its TTL).</summary>
    public bool TryGetFallback(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        if (_copies.TryGetValue(key, out var copy) && copy.Serves(reader, _hub.Services) && IsFor(copy, in key))
        {
            value = copy.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Whether <paramref name="copy"/> was made for the text of <paramref name="key"/> (always, when typed keys match their texts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsFor(Copy copy, in TKey key) => _textOf is null || string.Equals(_textOf(key), copy.KeyText, StringComparison.Ordinal);

    /// <summary>Notes what a copy of <paramref name="keyText"/> made from now on depends on (take it before reading the store or running the function).</summary>
    public Stamp Observe(string keyText)
    {
        var stripe = LocalHub.StripeOf(keyText);
        return new Stamp(stripe, _hub.VersionOf(stripe), Volatile.Read(ref _epoch), _hub.TrustEpoch);
    }

    /// <summary>
    /// Keeps a copy of <paramref name="value"/>, unless its entry changed since <paramref name="stamp"/> was taken. It lives
    /// until the entry's TTL (<paramref name="writerTtlTicks"/> from its write, <paramref name="ageTicks"/> ago), at most
    /// the hub's longest lifetime. <paramref name="written"/>: this process just stored the value (not read it), so a
    /// read of the entry still under way here (its copy possibly older) must not land after it: the stripe's version
    /// is bumped, whether or not the copy is kept (own notices do not come back to do it).
    /// </summary>
    public void Put(in TKey key, string keyText, TValue value, Stamp stamp, long writerTtlTicks, bool neverDie, long ageTicks, bool written = false)
    {
        var services = _hub.Services;
        var left = writerTtlTicks == long.MaxValue ? long.MaxValue : writerTtlTicks - Math.Max(0, ageTicks);
        left = Math.Min(left, _hub.MaxLifetimeTicks);
        var keep = left > 0 && !services.IsDisposed;
        if (!keep && !written)
        {
            return;
        }

        var now = services.Now;
        var copy = keep ? new Copy(this, key, keyText, value, now - Math.Max(0, ageTicks), writerTtlTicks, neverDie) : null;
        lock (_hub.LockOf(stamp.Stripe))
        {
            var current = _hub.VersionOf(stamp.Stripe) == stamp.Version && Volatile.Read(ref _epoch) == stamp.Epoch && _hub.TrustEpoch == stamp.TrustEpoch;
            if (written)
            {
                _hub.Bump(stamp.Stripe); // copies read before this write (stamped before now) may be older: none lands
            }

            if (copy is null || !current)
            {
                return; // the entry changed meanwhile (or notices may have been lost): the copy could be stale
            }

            _copies.TryGetValue(key, out var replaced);
            _copies[key] = copy;
            _hub.Added(copy);
            if (replaced is not null && replaced.ClaimReplaced())
            {
                _hub.Removed(replaced);
            }
        }

        if (left != long.MaxValue && !copy.Dropped)
        {
            services.Scheduler.Schedule(copy, now + left);
        }

        _hub.Trim();
    }

    /// <summary>The entry of <paramref name="key"/> changed or was removed here: drop its copy, and any copy being made.</summary>
    public void Evict(in TKey key, string keyText)
    {
        var stripe = LocalHub.StripeOf(keyText);
        lock (_hub.LockOf(stripe))
        {
            _hub.Bump(stripe);
            if (_copies.TryGetValue(key, out var copy))
            {
                copy.Drop();
            }
        }
    }

    /// <summary>Drops every copy of the function, and any copy being made.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _epoch);
        _hub.Barrier();
        foreach (var copy in _copies.Values)
        {
            copy.Drop();
        }
    }

    /// <summary>What a copy depends on: its stripe's version, the function's epoch and the hub's trust epoch.</summary>
    public readonly record struct Stamp(int Stripe, int Version, int Epoch, int TrustEpoch);

    private sealed class Copy(LocalLevel<TKey, TValue> level, in TKey key, string keyText, TValue value, long createdAt, long writerTtlTicks, bool neverDie)
        : LocalCopy(keyText)
    {
        public readonly TValue Value = value;
        public readonly bool NeverDie = neverDie;
        public Task<TValue>? Task;

        private readonly TKey _key = key;

        /// <summary>
        /// The rule of <see cref="Binding{TKey, TValue}.TrustsWriter"/>: a copy whose writer lived longer than the reader
        /// promises (or a never-die writer, for a reader that is not) is served only while younger than the reader's TTL.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Serves(Binding<TKey, TValue> reader, BackendServices services)
            => (writerTtlTicks <= reader.TtlTicks && (!NeverDie || reader.NeverDie)) || services.Now - createdAt < reader.TtlTicks;

        public bool ClaimReplaced() => ClaimDrop();

        public override void Drop()
        {
            if (ClaimDrop())
            {
                level._copies.TryRemove(new KeyValuePair<TKey, Copy>(_key, this));
                level._hub.Removed(this);
            }
        }
    }
}

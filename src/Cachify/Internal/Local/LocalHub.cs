using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using CachifyNet.Stores;

namespace CachifyNet.Internal;

/// <summary>
/// The local level of one distributed backend: the copies of entries this process keeps in memory (one
/// <see cref="LocalLevel{TKey, TValue}"/> per function), their size limit, and the backplane that tells the other
/// processes of this one's changes and this one of theirs.
/// </summary>
/// <remarks>
/// <para>
/// A copy is never served once something may have changed its entry. Each key text falls in one of
/// <see cref="StripeCount"/> stripes, each with a lock and a version. Whoever changes an entry (an Invalidate here, or a
/// notice from another process) bumps its stripe's version under the lock and drops the copy; whoever makes a copy
/// notes the versions before it reads the store or runs the function (<see cref="LocalLevel{TKey, TValue}.Stamp"/>) and inserts it under the lock
/// only if they are unchanged. So a copy read or produced before a change never lands after it. Clearing a function (or
/// every copy, when the backplane comes back) bumps an epoch, then takes every stripe lock once, so no insert that
/// checked the old epoch is still under way, then drops the copies.
/// </para>
/// <para>
/// While the backplane is lost, notices may be lost too: copies are not trusted (reads go to the store), but kept as
/// a fallback for when the store fails as well (Silent mode), so a hot key does not run its function while the store
/// is down. When the backplane comes back, every copy is dropped: the store is read again.
/// </para>
/// </remarks>
internal sealed class LocalHub : ICacheBackplaneSubscriber, IDisposable
{
    public const int StripeCount = 256;

    private const byte Version = 1;
    private const byte KeyChangedKind = 1;
    private const byte ClearedKind = 2;
    private const int HeaderLength = 18;

    private readonly object[] _locks = new object[StripeCount];
    private readonly int[] _versions = new int[StripeCount];
    private readonly ConcurrentDictionary<string, LocalCopy> _byKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ILocalLevel[]> _levels = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<LocalCopy> _order = new();
    private readonly byte[] _sender = Guid.NewGuid().ToByteArray();
    private readonly CacheBackplane? _backplane;
    private readonly object _trustLock = new();
    private IDisposable? _subscription;
    private int _count;
    private int _trustEpoch;
    private volatile bool _trusted = true;

    public LocalHub(BackendServices services, LocalCacheOptions options, CacheBackplane? backplane)
    {
        Services = services;
        _backplane = backplane;
        SizeLimit = options.SizeLimit;
        MaxLifetimeTicks = options.MaxLifetime is { } max ? services.ToTicks(max) : backplane is null ? services.ToTicks(TimeSpan.FromSeconds(1)) : long.MaxValue;
        for (var i = 0; i < StripeCount; i++)
        {
            _locks[i] = new object();
        }
    }

    public BackendServices Services { get; }

    public int SizeLimit { get; }

    /// <summary>The longest a copy is served (clock ticks; <see cref="long.MaxValue"/> for the entry's TTL).</summary>
    public long MaxLifetimeTicks { get; }

    /// <summary>Whether copies may be served without reading the store (false while the backplane is lost).</summary>
    public bool Trusted => _trusted;

    /// <summary>Copies held (the <c>cachify.entry.count</c> of the local level).</summary>
    public int Count => Volatile.Read(ref _count);

    public bool HasBackplane => _backplane is not null;

    /// <summary>Callers waiting for another process's lock: a notice of their key (the owner stored or released it) wakes them.</summary>
    public Stores.WaiterRegistry Waiters { get; } = new();

    /// <summary>Validates <paramref name="options"/> (the backend's constructor calls it, naming <paramref name="owner"/> in messages).</summary>
    public static void Validate(LocalCacheOptions? options, string owner, string paramName)
    {
        if (options is null)
        {
            throw new ArgumentException($"{owner}.LocalCache is null. Leave it unset for the defaults, or set new LocalCacheOptions {{ Enabled = false }} to read the store every time.", paramName);
        }

        if (options.SizeLimit <= 0)
        {
            throw new ArgumentOutOfRangeException(paramName, options.SizeLimit, $"{owner}.LocalCache.SizeLimit must be positive (it is the most copies the local level holds). Use at least 1, or Enabled = false.");
        }

        if (options.MaxLifetime is { } max && max <= TimeSpan.Zero && max != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, max, $"{owner}.LocalCache.MaxLifetime must be positive. Leave it null for the default, or set Enabled = false to read the store every time.");
        }
    }

    /// <summary>Subscribes to the backplane (once the backend is built).</summary>
    public void Start()
    {
        if (_backplane is not null)
        {
            _subscription = _backplane.Subscribe(this);
        }
    }

    /// <summary>
    /// The local level of the function known to other processes as <paramref name="function"/>. <paramref name="textOf"/>
    /// is given when typed keys may be equal while their texts differ (see <see cref="KeyRules.TypedKeyMatchesText"/>):
    /// each hit then checks that the copy was made for the key's text.
    /// </summary>
    public LocalLevel<TKey, TValue> CreateLevel<TKey, TValue>(string function, Func<TKey, string>? textOf)
        where TKey : struct, IArgsKey<TKey>
    {
        var level = new LocalLevel<TKey, TValue>(this, function, textOf);
        _levels.AddOrUpdate(function, static (_, level) => [level], static (_, levels, level) => [.. levels, level], level);
        return level;
    }

    // ---------------------------------------------------------------- stamps, inserts and drops

    internal static int StripeOf(string keyText) => (int)((uint)keyText.GetHashCode() % StripeCount);

    internal object LockOf(int stripe) => _locks[stripe];

    internal int VersionOf(int stripe) => Volatile.Read(ref _versions[stripe]);

    internal int TrustEpoch => Volatile.Read(ref _trustEpoch);

    /// <summary>Bumps the version of <paramref name="stripe"/>; the caller holds its lock.</summary>
    internal void Bump(int stripe) => Interlocked.Increment(ref _versions[stripe]);

    /// <summary>Waits until no insert that started before now is under way (each stripe lock taken once).</summary>
    internal void Barrier()
    {
        foreach (var stripeLock in _locks)
        {
            lock (stripeLock)
            {
            }
        }
    }

    /// <summary>A copy was inserted (under its stripe lock): index it by key text, in insertion order.</summary>
    internal void Added(LocalCopy copy)
    {
        _byKey[copy.KeyText] = copy;
        Interlocked.Increment(ref _count); // a replaced copy is counted out by its own removal
        _order.Enqueue(copy);
    }

    /// <summary>Forgets a copy its level dropped (a copy counts once, however it went).</summary>
    internal void Removed(LocalCopy copy)
    {
        _byKey.TryRemove(new KeyValuePair<string, LocalCopy>(copy.KeyText, copy));
        Interlocked.Decrement(ref _count);
        Services.Scheduler.Unschedule(copy);
    }

    /// <summary>Evicts the oldest copies while there are more than the size limit (and trims the queue of dropped ones).</summary>
    internal void Trim()
    {
        while ((Volatile.Read(ref _count) > SizeLimit || _order.Count > 2 * SizeLimit + 64) && _order.TryDequeue(out var oldest))
        {
            if (oldest.Dropped)
            {
                continue;
            }

            if (Volatile.Read(ref _count) > SizeLimit)
            {
                oldest.Drop();
            }
            else
            {
                _order.Enqueue(oldest); // only trimming dropped copies from the queue: a live one goes back
            }
        }
    }

    // ---------------------------------------------------------------- notices

    /// <summary>
    /// Tells the other processes that the entry under <paramref name="text"/> changed or was removed, or, when
    /// <paramref name="cleared"/>, that every entry of the function <paramref name="text"/> was cleared. In the caller's
    /// form: a synchronous caller (<paramref name="async"/> false) publishes on its thread and gets a completed task.
    /// </summary>
    public ValueTask Publish(string text, bool cleared, bool async)
    {
        var kind = cleared ? ClearedKind : KeyChangedKind;
        if (_backplane is null)
        {
            return ValueTask.CompletedTask;
        }

        if (async)
        {
            return PublishAsync(kind, text);
        }

        var notice = Notice(kind, text, out var length);
        try
        {
            _backplane.Publish(notice.AsMemory(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(notice);
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask PublishAsync(byte kind, string text)
    {
        var notice = Notice(kind, text, out var length);
        try
        {
            await _backplane!.PublishAsync(notice.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(notice);
        }
    }

    /// <summary>A notice: version, sender (16 bytes), kind, then the key text or function in UTF-8.</summary>
    private byte[] Notice(byte kind, string text, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer[0] = Version;
        _sender.CopyTo(buffer, 1);
        buffer[17] = kind;
        length = HeaderLength + Encoding.UTF8.GetBytes(text, buffer.AsSpan(HeaderLength));
        return buffer;
    }

    void ICacheBackplaneSubscriber.OnNotice(ReadOnlySpan<byte> notice)
    {
        if (notice.Length < HeaderLength || notice[0] != Version || notice.Slice(1, 16).SequenceEqual(_sender))
        {
            return; // not ours to read, or our own come back
        }

        var text = Encoding.UTF8.GetString(notice[HeaderLength..]);
        switch (notice[17])
        {
            case KeyChangedKind:
                var stripe = StripeOf(text);
                lock (_locks[stripe])
                {
                    Bump(stripe);
                    if (_byKey.TryGetValue(text, out var copy))
                    {
                        copy.Drop();
                    }
                }

                Waiters.Signal(text);
                break;
            case ClearedKind:
                if (_levels.TryGetValue(text, out var levels))
                {
                    foreach (var level in levels)
                    {
                        level.Clear();
                    }
                }

                break;
        }
    }

    void ICacheBackplaneSubscriber.OnConnectionLost()
    {
        lock (_trustLock)
        {
            _trusted = false;
            Interlocked.Increment(ref _trustEpoch);
        }
    }

    void ICacheBackplaneSubscriber.OnConnectionRestored()
    {
        lock (_trustLock)
        {
            // Notices may have been lost: no copy made before now is trusted again. Copies made from now on are.
            Interlocked.Increment(ref _trustEpoch);
            Barrier();
            foreach (var copy in _byKey.Values)
            {
                copy.Drop();
            }

            _trusted = true;
        }

        Waiters.SignalAll(); // notices may have been lost while disconnected
    }

    /// <summary>Drops every copy (the backend was disposed) and stops listening.</summary>
    public void Dispose()
    {
        _subscription?.Dispose();
        _subscription = null;
        foreach (var copy in _byKey.Values)
        {
            copy.Drop();
        }
    }
}

/// <summary>What the hub needs of a function's local level.</summary>
internal interface ILocalLevel
{
    /// <summary>Drops every copy of the function (a Clear, here or elsewhere).</summary>
    void Clear();
}

/// <summary>One copy, as the hub sees it: its key text, and a way to drop it.</summary>
internal abstract class LocalCopy(string keyText) : ScheduledItem
{
    public readonly string KeyText = keyText;

    private int _dropped;

    public bool Dropped => Volatile.Read(ref _dropped) != 0;

    internal override bool IsDead => Dropped;

    /// <summary>
    /// A copy's expiry is the local level's upkeep, not an entry's TTL or refresh: copies are counted by
    /// <c>cachify.entry.count</c>, and <c>cachify.scheduled.count</c> keeps counting what the backend itself refreshes or expires.
    /// </summary>
    internal override bool IsHousekeeping => true;

    /// <summary>Claims the drop: true for the one caller that should remove the copy.</summary>
    protected bool ClaimDrop() => Interlocked.Exchange(ref _dropped, 1) == 0;

    /// <summary>Removes the copy from its level and the hub (at most once).</summary>
    public abstract void Drop();

    internal override void OnDue() => Drop();
}

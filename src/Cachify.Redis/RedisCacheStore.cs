using CachifyNet.Redis.Internal;
using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis;

/// <summary>
/// A <see cref="CacheStore"/> on Redis, with a lock per key across processes (<see cref="Lock"/>): processes that share
/// the Redis run a function once per key, and refresh a never-die entry once per period. Works on a single Redis server,
/// on Redis Cluster and on Garnet (with Lua enabled). Use it through a <see cref="CacheStoreBackend"/>, with a
/// <see cref="RedisBackplane"/> when the local level is on.
/// </summary>
/// <remarks>
/// <para>
/// <b>Keys.</b> The value of key <c>K</c> lives at <c>{K}</c> (a Redis string, with <c>PX</c> = the entry's time to
/// live, none when it does not expire), and its lock at <c>{K}:lock</c> (the owner's token, with <c>PX</c> = the lease).
/// Both start with <c>{K</c>, so their Redis Cluster hash tag (from the first <c>{</c> to the first <c>}</c> after it) is
/// the same whatever <c>K</c> contains: a value and its lock always share one hash slot, and the lock's scripts run on
/// one node. A key that would give an empty hash tag (an empty key, or one starting with <c>}</c>) is stored at
/// <c>@{@}K}</c> and <c>@{@}K}:lock</c> instead.
/// </para>
/// <para>
/// <b>Clear.</b> <see cref="RemoveByPrefix"/> scans (SCAN MATCH) every connected primary for the values of the keys that
/// start with the prefix and unlinks them in batches (grouped by hash slot on a cluster); it leaves locks alone, which
/// expire with their lease. A primary that is not connected is skipped (its entries expire by their TTL) and reported by
/// a <see cref="RedisConnectionException"/> once the others are done.
/// </para>
/// <para>
/// <b>Reads.</b> A key that holds another Redis type (written by someone else) reads as bytes that are no Cachify entry,
/// not as a failure: the backend treats it as unreadable and overwrites it.
/// </para>
/// <para>
/// <b>Failures.</b> A member fails at once with a <see cref="RedisConnectionException"/> when the multiplexer has no
/// connection to the key's server (on a cluster, to the primary that owns the key's hash slot) rather than waiting in
/// the multiplexer's backlog until the client timeout: a cache must not add seconds to a call while Redis is away.
/// Other Redis errors are thrown as StackExchange.Redis reports them; the backend applies its error mode.
/// </para>
/// <para>
/// The store does not own the connection: dispose the multiplexer yourself, after the store. Synchronous members use
/// StackExchange.Redis' synchronous API and asynchronous members its asynchronous one.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var redis = ConnectionMultiplexer.Connect("localhost");
/// var backend = new CacheStoreBackend(new RedisCacheStore(redis), new CacheStoreBackendOptions { KeyPrefix = "myapp", Backplane = new RedisBackplane(redis) });
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").Backend(backend);
/// </code>
/// </example>
public sealed class RedisCacheStore : CacheStore, IDisposable
{
    private readonly RedisStoreLock _lock;
    private readonly ClusterSlots _slots;
    private volatile bool _disposed;

    /// <summary>Creates a store on <paramref name="connection"/>'s Redis, which it does not dispose.</summary>
    /// <param name="connection">The multiplexer; the application owns it.</param>
    /// <param name="database">The Redis database number; -1 (the default) for the multiplexer's default database. A Redis Cluster has database 0 only.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="database"/> is less than -1.</exception>
    public RedisCacheStore(IConnectionMultiplexer connection, int database = -1)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (database < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(database), database, "The Redis database number must be 0 or more, or -1 for the multiplexer's default database.");
        }

        Connection = connection;
        Database = connection.GetDatabase(database);
        _slots = new ClusterSlots(connection);
        _lock = new RedisStoreLock(this);
    }

    /// <summary>Gets the multiplexer the store uses.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>Gets the kind of store, the <c>backend</c> tag of Cachify's metrics and traces.</summary>
    /// <value><c>"redis"</c>.</value>
    public override string Kind => "redis";

    /// <summary>Gets the store's lock per key: a Redis key beside the value's, in the same hash slot (see the remarks of <see cref="RedisCacheStore"/>).</summary>
    public override CacheStoreLock Lock => _lock;

    /// <summary>The database the store reads and writes.</summary>
    internal IDatabase Database { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="RedisException">Redis is not connected, or the GET failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override byte[]? Read(string key)
    {
        var valueKey = ValueKey(key);
        Ready(valueKey);
        try
        {
            return (byte[]?)Database.StringGet(valueKey);
        }
        catch (RedisServerException error) when (IsWrongType(error))
        {
            return [];
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="RedisException">Redis is not connected, or the GET failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken)
        => ReadAsync(ValueKey(key), cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is neither positive nor <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    /// <exception cref="RedisException">Redis is not connected, or the SET failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
    {
        var valueKey = ValueKey(key);
        var expiry = Expiry(timeToLive);
        Ready(valueKey);
        Database.StringSet(valueKey, value, expiry, When.Always);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is neither positive nor <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    /// <exception cref="RedisException">Redis is not connected, or the SET failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        => WriteAsync(ValueKey(key), value, Expiry(timeToLive), cancellationToken);

    /// <summary>Removes the entry under <paramref name="key"/> and its lock (whoever holds it), in one command (UNLINK, or DEL on a server without it).</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="RedisException">Redis is not connected, or the UNLINK failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override void Remove(string key)
    {
        var keys = EntryKeys(key);
        Ready(keys[0]);
        Database.KeyDelete(keys);
    }

    /// <inheritdoc cref="Remove"/>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the removal (stops waiting for Redis' reply; the UNLINK may still run).</param>
    public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
        => RemoveAsync(EntryKeys(key), cancellationToken);

    /// <summary>
    /// Removes the value of every key that starts with <paramref name="keyPrefix"/>: SCAN MATCH on every connected primary,
    /// then UNLINK in batches (see the remarks of <see cref="RedisCacheStore"/>). Locks are left to expire with their lease.
    /// </summary>
    /// <param name="keyPrefix">The start of the keys to remove.</param>
    /// <exception cref="ArgumentNullException"><paramref name="keyPrefix"/> is null.</exception>
    /// <exception cref="RedisException">No primary is connected, one was skipped because it is not, or a SCAN or UNLINK failed.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public override void RemoveByPrefix(string keyPrefix)
    {
        var patterns = ScanPatterns(keyPrefix);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var skipped = 0;
        foreach (var server in Primaries(ref skipped))
        {
            foreach (var pattern in patterns)
            {
                var batch = new List<RedisKey>(ScanPage);
                foreach (var key in server.Keys(Database.Database, pattern, ScanPage))
                {
                    if (IsValue(key))
                    {
                        batch.Add(key);
                    }

                    if (batch.Count == ScanPage)
                    {
                        WaitAll(Unlink(batch));
                        batch.Clear();
                    }
                }

                WaitAll(Unlink(batch));
            }
        }

        ThrowIfSkipped(skipped);
    }

    /// <inheritdoc cref="RemoveByPrefix"/>
    /// <param name="keyPrefix">The start of the keys to remove.</param>
    /// <param name="cancellationToken">Cancels the removal (between batches, and the wait for a batch's replies).</param>
    public override ValueTask RemoveByPrefixAsync(string keyPrefix, CancellationToken cancellationToken)
        => RemoveByPrefixAsync(ScanPatterns(keyPrefix), cancellationToken);

    /// <summary>
    /// Stops following the multiplexer's cluster events, for good; members called afterwards throw
    /// <see cref="ObjectDisposedException"/>. Does not close the connection. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _slots.Dispose();
    }

    /// <summary>The Redis key of the value of <paramref name="key"/> (see the remarks of <see cref="RedisCacheStore"/>).</summary>
    internal static RedisKey ValueKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return HasTag(key) ? "{" + key + "}" : "@{@}" + key + "}";
    }

    /// <summary>The Redis key of the lock of <paramref name="key"/>: the value's key and ":lock", in the value's hash slot.</summary>
    internal static RedisKey LockKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return HasTag(key) ? "{" + key + "}:lock" : "@{@}" + key + "}:lock";
    }

    /// <summary>
    /// Fails at once when the multiplexer has no connection to the server of <paramref name="key"/> (on a cluster, the
    /// primary that owns its hash slot), instead of letting the command wait in its backlog until it times out.
    /// </summary>
    /// <exception cref="RedisConnectionException">Redis is not connected.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    internal void Ready(in RedisKey key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Database.IsConnected(key))
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis is not connected (the multiplexer reports no connection to the key's server).", null, CommandStatus.Unknown);
        }

        if (_slots.Unreachable(key) is { } reason)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster: {reason}.", null, CommandStatus.Unknown);
        }
    }

    /// <summary>The client's task, which stops being waited for when <paramref name="cancellationToken"/> is cancelled.</summary>
    internal static Task<T> Cancellable<T>(Task<T> call, CancellationToken cancellationToken)
        => cancellationToken.CanBeCanceled ? call.WaitAsync(cancellationToken) : call;

    /// <summary>
    /// The bytes to send. A cancelled wait completes the caller's task while the client may not have written the
    /// command yet, and the caller may then reuse its buffer: a cancellable call sends a copy.
    /// </summary>
    internal static RedisValue Payload(ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
        => cancellationToken.CanBeCanceled ? value.ToArray() : value;

    /// <summary>A time to live as Redis' expiry: null for none, else whole milliseconds, rounded up (at least 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is neither positive nor infinite.</exception>
    internal static TimeSpan? Expiry(TimeSpan timeToLive, string paramName = "timeToLive")
    {
        if (timeToLive == Timeout.InfiniteTimeSpan)
        {
            return null;
        }

        return TimeSpan.FromTicks(Milliseconds(timeToLive, paramName) * TimeSpan.TicksPerMillisecond);
    }

    /// <summary>A positive time in whole milliseconds, rounded up (at least 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is not positive.</exception>
    internal static long Milliseconds(TimeSpan time, string paramName)
    {
        if (time <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, time, "The time must be positive (or Timeout.InfiniteTimeSpan for a time to live that does not expire).");
        }

        return Math.Max(1, (long)Math.Ceiling(time.TotalMilliseconds));
    }

    /// <summary>The most keys a SCAN page asks for, and the most an UNLINK batch holds.</summary>
    private const int ScanPage = 1000;

    /// <summary>
    /// The SCAN MATCH patterns of the value keys of the keys that start with <paramref name="keyPrefix"/>: <c>{prefix*</c>,
    /// or <c>@{@}prefix*</c> for a prefix starting with '}', and both for an empty prefix (glob characters escaped).
    /// </summary>
    private static RedisValue[] ScanPatterns(string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(keyPrefix);
        var escaped = new System.Text.StringBuilder(keyPrefix.Length + 8);
        foreach (var c in keyPrefix)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        escaped.Append('*');
        var tail = escaped.ToString();
        return keyPrefix.Length == 0 ? ["{" + tail, "@{@}" + tail]
            : HasTag(keyPrefix) ? ["{" + tail]
            : ["@{@}" + tail];
    }

    /// <summary>Whether a Redis key the store wrote is a value (<c>{K}</c>, ending with '}'), not a lock (<c>{K}:lock</c>).</summary>
    private static bool IsValue(in RedisKey key) => ((string?)key)?.EndsWith('}') == true;

    /// <summary>The blocking wait of the synchronous <see cref="RemoveByPrefix"/> for a batch's UNLINKs, sent together (one round trip, not one per slot); the first failure is thrown.</summary>
    private static void WaitAll(Task[] calls)
    {
        try
        {
            Task.WaitAll(calls);
        }
        catch (AggregateException error) when (error.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error.InnerExceptions[0]);
        }
    }

    private static void ThrowIfSkipped(int skipped)
    {
        if (skipped > 0)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"{skipped} Redis primary server(s) not connected: their entries were not removed, and expire by their TTL.", null, CommandStatus.Unknown);
        }
    }

    /// <summary>The connected primaries (every shard of a cluster); counts in <paramref name="skipped"/> those not connected.</summary>
    /// <exception cref="RedisConnectionException">No primary is connected.</exception>
    private List<IServer> Primaries(ref int skipped)
    {
        var primaries = new List<IServer>();
        foreach (var server in Connection.GetServers())
        {
            if (server.IsReplica)
            {
                continue;
            }

            if (server.IsConnected)
            {
                primaries.Add(server);
            }
            else
            {
                skipped++;
            }
        }

        if (primaries.Count == 0)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Redis is not connected (the multiplexer reports no connected primary server).", null, CommandStatus.Unknown);
        }

        return primaries;
    }

    /// <summary>UNLINKs of a batch of value keys, sent at once: one for the batch, or one per hash slot on a cluster (a command's keys must share a slot).</summary>
    private Task[] Unlink(List<RedisKey> batch)
    {
        if (batch.Count == 0)
        {
            return [];
        }

        if (!_slots.IsCluster)
        {
            return [Database.KeyDeleteAsync([.. batch])];
        }

        return [.. batch.GroupBy(key => Connection.HashSlot(key)).Select(slot => (Task)Database.KeyDeleteAsync([.. slot]))];
    }

    private async ValueTask RemoveByPrefixAsync(RedisValue[] patterns, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        var skipped = 0;
        foreach (var server in Primaries(ref skipped))
        {
            foreach (var pattern in patterns)
            {
                var batch = new List<RedisKey>(ScanPage);
                await foreach (var key in server.KeysAsync(Database.Database, pattern, ScanPage).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    if (IsValue(key))
                    {
                        batch.Add(key);
                    }

                    if (batch.Count == ScanPage)
                    {
                        await Task.WhenAll(Unlink(batch)).WaitAsync(cancellationToken).ConfigureAwait(false);
                        batch.Clear();
                    }
                }

                await Task.WhenAll(Unlink(batch)).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        ThrowIfSkipped(skipped);
    }

    /// <summary>Whether <c>{key}</c> has a non-empty hash tag: the key is not empty and does not start with '}'.</summary>
    private static bool HasTag(string key) => key.Length > 0 && key[0] != '}';

    private static bool IsWrongType(RedisServerException error) => error.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);

    private static RedisKey[] EntryKeys(string key) => [ValueKey(key), LockKey(key)];

    private async ValueTask<byte[]?> ReadAsync(RedisKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Ready(key);
        try
        {
            return (byte[]?)await Cancellable(Database.StringGetAsync(key), cancellationToken).ConfigureAwait(false);
        }
        catch (RedisServerException error) when (IsWrongType(error))
        {
            return [];
        }
    }

    private async ValueTask WriteAsync(RedisKey key, ReadOnlyMemory<byte> value, TimeSpan? expiry, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Ready(key);
        await Cancellable(Database.StringSetAsync(key, Payload(value, cancellationToken), expiry, When.Always), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask RemoveAsync(RedisKey[] keys, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Ready(keys[0]);
        await Cancellable(Database.KeyDeleteAsync(keys), cancellationToken).ConfigureAwait(false);
    }
}

using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Invalidate and Clear. Invalidate removes the value and the lock in one script, so an execution running in any
/// process finds its lock gone and stores nothing. Clear scans every primary for this function's keys
/// (<c>SCAN MATCH</c>, never <c>KEYS</c>; on a cluster, the primaries that own slots now) and unlinks them in
/// batches, in two passes: locks first, then values and wait markers. The primaries are scanned concurrently, and a
/// page's batches (one per hash slot on a cluster) are sent at once. A failed Invalidate or Clear throws in both
/// error modes (<see cref="RedisContext.RemovalFailed"/>).
/// </summary>
/// <remarks>
/// Why two passes: an owner stores only while its lock still holds its token (<see cref="RedisScripts.Commit"/>), and
/// SCAN returns every key that exists for the whole scan, but may miss a key written during it. Take an execution that
/// holds its lock when a Clear begins. If it commits before the first pass has deleted its lock, its value exists
/// before the second pass begins, so the second pass removes it. If it commits later, its lock is gone and it stores
/// nothing. In one pass, a commit landing after the scan went past the value's place left that value behind. Locks
/// taken during the Clear belong to executions that began after it; the second pass leaves them alone.
/// </remarks>
internal sealed partial class RedisKeyspace<TKey, TValue>
{
    private const int ScanPageSize = 1000;

    /// <summary>
    /// Tests: runs after each SCAN page of a Clear, before the page's keys are unlinked; the argument is true in the
    /// first pass (locks). Lets a test land another process's commit at a chosen point of a Clear.
    /// </summary>
    internal Action<bool>? ClearPageScanned { get; set; }

    public override void Remove(in TKey key)
    {
        Services.ThrowIfDisposed();
        Locks.Doom(key);
        DropRegistration(in key);
        var entry = Entry(in key);
        try
        {
            _redis.Ready(entry.Value);
            _redis.Database.ScriptEvaluate(RedisScripts.Invalidate, entry.All, [_redis.ChannelName, entry.Text]);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            throw _redis.RemovalFailed(_tags, _displayName, "invalidate", error);
        }
    }

    public override async ValueTask RemoveAsync(TKey key, CancellationToken cancellationToken)
    {
        Services.ThrowIfDisposed();
        Locks.Doom(key);
        DropRegistration(in key);
        var entry = Entry(in key);
        try
        {
            _redis.Ready(entry.Value);
            await WithCancellation(_redis.Database.ScriptEvaluateAsync(RedisScripts.Invalidate, entry.All, [_redis.ChannelName, entry.Text]), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            throw _redis.RemovalFailed(_tags, _displayName, "invalidate", error);
        }
    }

    /// <remarks>
    /// Blocks on the asynchronous implementation, once: Clear is rare, and its cost is round trips, which it makes
    /// concurrently (every primary at once, every slot's batch of a page at once) instead of one after another.
    /// </remarks>
    public override void Clear()
    {
        Services.ThrowIfDisposed();
        ForgetAll();
        try
        {
            RemoveEverywhereAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            throw _redis.RemovalFailed(_tags, _displayName, "clear", error);
        }
    }

    public override async ValueTask ClearAsync(CancellationToken cancellationToken)
    {
        Services.ThrowIfDisposed();
        ForgetAll();
        try
        {
            await RemoveEverywhereAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            throw _redis.RemovalFailed(_tags, _displayName, "clear", error);
        }
    }

    /// <summary>Every primary's locks, then every primary's values and markers (see the remarks on this class); the primaries in parallel.</summary>
    private async Task RemoveEverywhereAsync(CancellationToken cancellationToken)
    {
        var primaries = await PrimariesAsync().ConfigureAwait(false);
        await Task.WhenAll(primaries.Select(server => ScanAndUnlinkAsync(server, locks: true, cancellationToken))).ConfigureAwait(false);
        await Task.WhenAll(primaries.Select(server => ScanAndUnlinkAsync(server, locks: false, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>One pass of Clear on one server: this function's locks, or its values and wait markers.</summary>
    private async Task ScanAndUnlinkAsync(IServer server, bool locks, CancellationToken cancellationToken)
    {
        var cluster = server.ServerType == ServerType.Cluster;
        RedisValue cursor = 0;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reply = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", locks ? _lockScanPattern : _scanPattern, "COUNT", ScanPageSize).ConfigureAwait(false))!;
            cursor = (RedisValue)reply[0];
            ClearPageScanned?.Invoke(locks);
            var keys = PassKeys((RedisKey[])reply[1]!, locks);
            if (keys.Length == 0)
            {
                continue;
            }

            if (!cluster)
            {
                await server.ExecuteAsync("UNLINK", Array.ConvertAll(keys, static key => (object)key)).ConfigureAwait(false);
                continue;
            }

            // A command may only touch one hash slot on a cluster: one UNLINK per slot, all of the page's at once.
            await Task.WhenAll(keys.GroupBy(_redis.Connection.HashSlot)
                .Select(slot => server.ExecuteAsync("UNLINK", slot.Select(static key => (object)key).ToArray()))).ConfigureAwait(false);
        }
        while (cursor != 0);
    }

    /// <summary>The keys of a page this pass removes: the second pass skips locks (taken after the first pass, by executions that began during the Clear).</summary>
    private RedisKey[] PassKeys(RedisKey[] keys, bool locks)
    {
        if (locks || keys.Length == 0)
        {
            return keys;
        }

        return Array.FindAll(keys, key => !((string)key!).StartsWith(_lockPrefix, StringComparison.Ordinal));
    }

    /// <summary>The backend was disposed: forget local state; entries in Redis stay for the other processes.</summary>
    public override void OnBackendDisposed() => ForgetAll();

    /// <summary>Local part of Clear (and of disposal): running executions store nothing, never-die registrations go.</summary>
    private void ForgetAll()
    {
        NextGeneration();
        Locks.DoomAll();
        foreach (var item in _neverDie.Values)
        {
            Drop(item);
        }
    }

    /// <summary>Removes a value written while a Clear ran (the Clear's SCAN may have missed it).</summary>
    private void Unlink(in EntryKeys entry)
    {
        try
        {
            _redis.Ready(entry.Value);
            _redis.Database.KeyDelete(entry.Value);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _redis.BackgroundFailed(_tags, _displayName, "clear", error);
        }
    }

    private async Task UnlinkAsync(EntryKeys entry)
    {
        try
        {
            _redis.Ready(entry.Value);
            await _redis.Database.KeyDeleteAsync(entry.Value).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _redis.BackgroundFailed(_tags, _displayName, "clear", error);
        }
    }

    /// <summary>
    /// The servers to scan. Not a cluster: every primary the multiplexer knows. A cluster: the primaries that own hash
    /// slots now, as a connected node reports them (CLUSTER NODES): a dead primary whose slots went to its promoted
    /// replica owns none and is skipped. Fails when a slot has no owner or its owner is not connected, since the
    /// Clear would then leave that slot's entries behind.
    /// </summary>
    private async Task<List<IServer>> PrimariesAsync()
    {
        var servers = _redis.Connection.GetServers();
        var probe = Array.Find(servers, static server => server.IsConnected && server.ServerType == ServerType.Cluster);
        if (probe is null)
        {
            var standalone = new List<IServer>();
            foreach (var server in servers)
            {
                if (!server.IsReplica)
                {
                    standalone.Add(Connected(server, "Redis server"));
                }
            }

            return standalone;
        }

        var (owners, covered) = await _redis.Slots.PrimariesAsync(probe).ConfigureAwait(false);
        if (covered < ClusterSlots.SlotCount)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster: {ClusterSlots.SlotCount - covered} hash slots have no working primary (as node {probe.EndPoint} reports).", null, CommandStatus.Unknown);
        }

        var primaries = new List<IServer>();
        foreach (var (endPoint, _) in owners)
        {
            var server = _redis.Slots.Server(endPoint)
                ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster primary {endPoint} owns hash slots but the multiplexer does not know it yet.", null, CommandStatus.Unknown);
            primaries.Add(Connected(server, "Redis Cluster primary"));
        }

        return primaries;
    }

    private static IServer Connected(IServer server, string what)
        => server.IsConnected
            ? server
            : throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"{what} {server.EndPoint} is not connected.", null, CommandStatus.Unknown);
}

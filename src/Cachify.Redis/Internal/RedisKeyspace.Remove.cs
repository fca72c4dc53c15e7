using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Invalidate and Clear. Invalidate removes the value and the lock in one script, so an execution running in any
/// process finds its lock gone and stores nothing. Clear scans every primary for this function's keys
/// (<c>SCAN MATCH</c>, never <c>KEYS</c>) and unlinks them in batches, in two passes: locks first, then values and
/// wait markers.
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
            if (_redis.Failed(_tags, _displayName, "invalidate", error, removal: true) is { } fatal)
            {
                throw fatal;
            }
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
            if (_redis.Failed(_tags, _displayName, "invalidate", error, removal: true) is { } fatal)
            {
                throw fatal;
            }
        }
    }

    public override void Clear()
    {
        Services.ThrowIfDisposed();
        ForgetAll();
        try
        {
            // Every primary's locks, then every primary's values and markers (see the remarks on this class).
            var primaries = Primaries();
            foreach (var server in primaries)
            {
                ScanAndUnlink(server, locks: true);
            }

            foreach (var server in primaries)
            {
                ScanAndUnlink(server, locks: false);
            }
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            if (_redis.Failed(_tags, _displayName, "clear", error, removal: true) is { } fatal)
            {
                throw fatal;
            }
        }
    }

    public override async ValueTask ClearAsync(CancellationToken cancellationToken)
    {
        Services.ThrowIfDisposed();
        ForgetAll();
        try
        {
            var primaries = Primaries();
            foreach (var server in primaries)
            {
                await ScanAndUnlinkAsync(server, locks: true, cancellationToken).ConfigureAwait(false);
            }

            foreach (var server in primaries)
            {
                await ScanAndUnlinkAsync(server, locks: false, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            if (_redis.Failed(_tags, _displayName, "clear", error, removal: true) is { } fatal)
            {
                throw fatal;
            }
        }
    }

    /// <summary>One pass of Clear on one server: this function's locks, or its values and wait markers.</summary>
    private void ScanAndUnlink(IServer server, bool locks)
    {
        RedisValue cursor = 0;
        do
        {
            var reply = (RedisResult[])server.Execute("SCAN", cursor, "MATCH", locks ? _lockScanPattern : _scanPattern, "COUNT", ScanPageSize)!;
            cursor = (RedisValue)reply[0];
            ClearPageScanned?.Invoke(locks);
            foreach (var batch in Batches(server, PassKeys((RedisKey[])reply[1]!, locks)))
            {
                server.Execute("UNLINK", batch);
            }
        }
        while (cursor != 0);
    }

    private async Task ScanAndUnlinkAsync(IServer server, bool locks, CancellationToken cancellationToken)
    {
        RedisValue cursor = 0;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reply = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", locks ? _lockScanPattern : _scanPattern, "COUNT", ScanPageSize).ConfigureAwait(false))!;
            cursor = (RedisValue)reply[0];
            ClearPageScanned?.Invoke(locks);
            foreach (var batch in Batches(server, PassKeys((RedisKey[])reply[1]!, locks)))
            {
                await server.ExecuteAsync("UNLINK", batch).ConfigureAwait(false);
            }
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

    /// <summary>Every primary (Cluster: every shard; otherwise the primary), connected or not (a disconnected one fails the Clear).</summary>
    private List<IServer> Primaries()
    {
        var primaries = new List<IServer>();
        foreach (var server in _redis.Connection.GetServers())
        {
            if (!server.IsReplica)
            {
                if (!server.IsConnected)
                {
                    throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis server {server.EndPoint} is not connected.", null, CommandStatus.Unknown);
                }

                primaries.Add(server);
            }
        }

        return primaries;
    }

    /// <summary>
    /// UNLINK arguments for the keys of one SCAN page: one batch on a single server; on a Cluster one batch per hash
    /// slot, since a command may only touch one slot there.
    /// </summary>
    private IEnumerable<object[]> Batches(IServer server, RedisKey[] keys)
    {
        if (keys.Length == 0)
        {
            yield break;
        }

        if (server.ServerType != ServerType.Cluster)
        {
            yield return Array.ConvertAll(keys, static key => (object)key);
            yield break;
        }

        foreach (var slot in keys.GroupBy(_redis.Connection.HashSlot))
        {
            yield return slot.Select(static key => (object)key).ToArray();
        }
    }
}

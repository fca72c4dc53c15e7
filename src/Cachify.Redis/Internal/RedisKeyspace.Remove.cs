using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Invalidate and Clear. Invalidate removes the value and the lock in one script, so an execution running in any
/// process finds its lock gone and stores nothing. Clear scans every primary for this function's keys
/// (<c>SCAN MATCH</c>, never <c>KEYS</c>) and unlinks them in batches.
/// </summary>
internal sealed partial class RedisKeyspace<TKey, TValue>
{
    private const int ScanPageSize = 1000;

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
            foreach (var server in Primaries())
            {
                RedisValue cursor = 0;
                do
                {
                    var reply = (RedisResult[])server.Execute("SCAN", cursor, "MATCH", _scanPattern, "COUNT", ScanPageSize)!;
                    cursor = (RedisValue)reply[0];
                    foreach (var batch in Batches(server, (RedisKey[])reply[1]!))
                    {
                        server.Execute("UNLINK", batch);
                    }
                }
                while (cursor != 0);
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
            foreach (var server in Primaries())
            {
                RedisValue cursor = 0;
                do
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var reply = (RedisResult[])(await server.ExecuteAsync("SCAN", cursor, "MATCH", _scanPattern, "COUNT", ScanPageSize).ConfigureAwait(false))!;
                    cursor = (RedisValue)reply[0];
                    foreach (var batch in Batches(server, (RedisKey[])reply[1]!))
                    {
                        await server.ExecuteAsync("UNLINK", batch).ConfigureAwait(false);
                    }
                }
                while (cursor != 0);
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

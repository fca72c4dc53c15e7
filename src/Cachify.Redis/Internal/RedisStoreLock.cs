using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The lock of a <see cref="RedisCacheStore"/>: a Redis string at <c>{K}:lock</c> holding the owner's token, with PX =
/// the lease. Taken with <c>SET NX PX</c>; renewed, committed and released by Lua scripts that check the token first
/// (<see cref="RedisStoreScripts"/>), so a lock that expired and was taken by another owner is never touched.
/// </summary>
internal sealed class RedisStoreLock(RedisCacheStore store) : CacheStoreLock
{
    private IDatabase Database => store.Database;

    public override bool TryAcquire(string key, string owner, TimeSpan lease)
    {
        var lockKey = RedisCacheStore.LockKey(key);
        var expiry = Lease(owner, lease);
        store.Ready(lockKey);
        return Database.StringSet(lockKey, owner, expiry, When.NotExists);
    }

    public override ValueTask<bool> TryAcquireAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
        => TryAcquireAsync(RedisCacheStore.LockKey(key), owner, Lease(owner, lease), cancellationToken);

    public override ValueTask<bool> RenewAsync(string key, string owner, TimeSpan lease, CancellationToken cancellationToken)
        => RenewAsync(RedisCacheStore.LockKey(key), owner, Lease(owner, lease), cancellationToken);

    public override bool Commit(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
    {
        var keys = CommitKeys(key);
        var values = CommitValues(owner, value, timeToLive, default);
        store.Ready(keys[0]);
        return (long)Database.ScriptEvaluate(RedisStoreScripts.Commit, keys, values) == 1;
    }

    public override ValueTask<bool> CommitAsync(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        => CommitAsync(CommitKeys(key), CommitValues(owner, value, timeToLive, cancellationToken), cancellationToken);

    public override void Release(string key, string owner)
    {
        var lockKey = RedisCacheStore.LockKey(key);
        CheckOwner(owner);
        store.Ready(lockKey);
        Database.ScriptEvaluate(RedisStoreScripts.Release, [lockKey], [owner]);
    }

    public override ValueTask ReleaseAsync(string key, string owner, CancellationToken cancellationToken)
    {
        var lockKey = RedisCacheStore.LockKey(key);
        CheckOwner(owner);
        return ReleaseAsync(lockKey, owner, cancellationToken);
    }

    private static void CheckOwner(string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
    }

    private static TimeSpan Lease(string owner, TimeSpan lease)
    {
        CheckOwner(owner);
        if (lease == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(lease), lease, "A lock's lease must be finite and positive, so that the lock of a process that died expires.");
        }

        return TimeSpan.FromTicks(RedisCacheStore.Milliseconds(lease, nameof(lease)) * TimeSpan.TicksPerMillisecond);
    }

    private static RedisKey[] CommitKeys(string key) => [RedisCacheStore.ValueKey(key), RedisCacheStore.LockKey(key)];

    private static RedisValue[] CommitValues(string owner, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        CheckOwner(owner);
        var milliseconds = RedisCacheStore.Expiry(timeToLive) is { } expiry ? (long)expiry.TotalMilliseconds : 0;
        return [owner, RedisCacheStore.Payload(value, cancellationToken), milliseconds];
    }

    private async ValueTask<bool> TryAcquireAsync(RedisKey lockKey, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        store.Ready(lockKey);
        return await RedisCacheStore.Cancellable(Database.StringSetAsync(lockKey, owner, lease, When.NotExists), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<bool> RenewAsync(RedisKey lockKey, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        store.Ready(lockKey);
        var call = Database.ScriptEvaluateAsync(RedisStoreScripts.Renew, [lockKey], [owner, (long)lease.TotalMilliseconds]);
        return (long)await RedisCacheStore.Cancellable(call, cancellationToken).ConfigureAwait(false) == 1;
    }

    private async ValueTask<bool> CommitAsync(RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        store.Ready(keys[0]);
        var call = Database.ScriptEvaluateAsync(RedisStoreScripts.Commit, keys, values);
        return (long)await RedisCacheStore.Cancellable(call, cancellationToken).ConfigureAwait(false) == 1;
    }

    private async ValueTask ReleaseAsync(RedisKey lockKey, string owner, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        store.Ready(lockKey);
        await RedisCacheStore.Cancellable(Database.ScriptEvaluateAsync(RedisStoreScripts.Release, [lockKey], [owner]), cancellationToken).ConfigureAwait(false);
    }
}

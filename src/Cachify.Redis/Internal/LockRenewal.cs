using CachifyNet.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Keeps an owner's lock alive while its function runs: every third of the lock timeout, extends the lock to a
/// full timeout if the token still matches (Lua compare-then-act), so a function slower than the timeout keeps it.
/// Runs on a timer in real time (Redis expires the lock in real time), with the asynchronous client, whether the
/// function is synchronous or not: it is background work, not the caller's path. It stops at its first tick after the
/// backend is disposed (an execution still running then stores nothing), so the lock expires by itself.
/// </summary>
internal sealed class LockRenewal : IDisposable
{
    private readonly RedisContext _redis;
    private readonly RedisKey[] _lock;
    private readonly RedisValue[] _args;
    private readonly Telemetry.Tags _tags;
    private readonly string _function;
    private readonly Timer _timer;
    private int _busy;

    public LockRenewal(RedisContext redis, RedisKey lockKey, RedisValue token, Telemetry.Tags tags, string function)
    {
        _redis = redis;
        _lock = [lockKey];
        _args = [token, redis.LockMs];
        _tags = tags;
        _function = function;
        var period = redis.LockTimeout / 3;
        _timer = new Timer(static state => ((LockRenewal)state!).Tick(), this, period, period);
    }

    private void Tick()
    {
        if (_redis.IsDisposed)
        {
            // The backend was disposed: whatever the function returns is not stored, so its lock is of no use.
            _timer.Dispose();
            return;
        }

        if (Interlocked.Exchange(ref _busy, 1) == 0)
        {
            _ = RenewAsync();
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            var renewed = (long)await _redis.Database.ScriptEvaluateAsync(RedisScripts.Renew, _lock, _args).ConfigureAwait(false);
            if (renewed == 1)
            {
                _redis.CountRenewal();
            }
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            // The next tick tries again; if the lock expires meanwhile, the final write sees it and stores nothing.
            _redis.BackgroundFailed(_tags, _function, "renew", error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}

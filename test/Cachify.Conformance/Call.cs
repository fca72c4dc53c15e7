namespace CachifyNet.Conformance;

/// <summary>
/// One cached function of an <see cref="int"/>, used through its synchronous API (<see cref="CachedFunc{T1, TResult}"/>)
/// or its asynchronous one (<see cref="AsyncCachedFunc{T1, TResult}"/>), so that one test body proves both.
/// </summary>
/// <typeparam name="T">The function's result.</typeparam>
public sealed class Call<T>
{
    private readonly CachedFunc<int, T>? _sync;
    private readonly AsyncCachedFunc<int, T>? _async;

    internal Call(CachedFunc<int, T> sync) => _sync = sync;

    internal Call(AsyncCachedFunc<int, T> async) => _async = async;

    /// <summary>Whether the calls go through the asynchronous API.</summary>
    public bool IsAsync => _async is not null;

    /// <summary>Calls the function; the synchronous API runs (and may block) on the calling thread, and its exception comes back through the task.</summary>
    public Task<T> Invoke(int x, bool skipCache = false)
    {
        if (_async is not null)
        {
            return _async.Invoke(x, skipCache);
        }

        try
        {
            return Task.FromResult(_sync!.Invoke(x, skipCache));
        }
        catch (Exception error)
        {
            return Task.FromException<T>(error);
        }
    }

    /// <summary>
    /// Starts a call and returns without waiting for it: the asynchronous API's own task, or the synchronous API on a
    /// thread of its own (where it may block on a lock without holding a pool thread).
    /// </summary>
    public Task<T> Start(int x, bool skipCache = false)
        => _async is not null
            ? _async.Invoke(x, skipCache)
            : Task.Factory.StartNew(() => _sync!.Invoke(x, skipCache), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Removes the entry of <paramref name="x"/>: <c>Invalidate</c>, or <c>InvalidateAsync</c> for the asynchronous API.</summary>
    public Task Invalidate(int x)
    {
        if (_async is not null)
        {
            return _async.InvalidateAsync(x).AsTask();
        }

        try
        {
            _sync!.Invalidate(x);
            return Task.CompletedTask;
        }
        catch (Exception error)
        {
            return Task.FromException(error);
        }
    }

    /// <summary>Removes every entry of the function: <c>Clear</c>, or <c>ClearAsync</c> for the asynchronous API.</summary>
    public Task Clear()
    {
        if (_async is not null)
        {
            return _async.ClearAsync().AsTask();
        }

        try
        {
            _sync!.Clear();
            return Task.CompletedTask;
        }
        catch (Exception error)
        {
            return Task.FromException(error);
        }
    }
}

using CachifyNet.Internal.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The Redis calls of a caller's path in one form, so that each algorithm (the owner's, Invalidate, Clear) is written
/// once: <see cref="SyncRedisIo"/> calls the synchronous client API and returns completed tasks, <see cref="AsyncRedisIo"/>
/// the asynchronous one. Synchronous callers never block on a task (but for a Clear's rounds, <see cref="SyncRedisIo.ExecuteAll"/>), asynchronous callers never block a thread. (The
/// shape of System.Net.Security's ReadWriteAdapter, as the core's store engine does.)
/// </summary>
internal interface IRedisIo
{
    static abstract bool IsAsync { get; }

    /// <summary>EVAL(SHA) of a script; the asynchronous form stops waiting when <paramref name="token"/> is cancelled.</summary>
    static abstract ValueTask<RedisResult> ScriptEvaluate(IDatabase database, string script, RedisKey[] keys, RedisValue[] values, CancellationToken token);

    static abstract ValueTask KeyDelete(IDatabase database, RedisKey key);

    /// <summary>A command sent to one server (the script that reads CLUSTER NODES).</summary>
    static abstract ValueTask<RedisResult> Execute(IServer server, string command, object[] args);

    /// <summary>
    /// A round of commands to servers (a Clear's SCAN pages, its UNLINKs), replies in order; the first failure is thrown.
    /// Both forms send them all at once and wait for them together (the synchronous form blocks on the client's tasks:
    /// see <see cref="SyncRedisIo.ExecuteAll"/>).
    /// </summary>
    static abstract ValueTask<RedisResult[]> ExecuteAll(List<ServerCommand> commands);

    static abstract ValueTask Subscribe(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler);

    /// <summary>Waits for another process's notification or the end of <paramref name="delay"/>.</summary>
    static abstract ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token);
}

internal readonly struct SyncRedisIo : IRedisIo
{
    /// <summary>The result of an algorithm run with <see cref="SyncRedisIo"/>: complete by construction (every call it makes is synchronous).</summary>
    public static T Result<T>(ValueTask<T> task)
        => task.IsCompleted ? task.Result : throw new InvalidOperationException("A synchronous Redis call did not complete synchronously.");

    /// <inheritdoc cref="Result{T}(ValueTask{T})"/>
    public static void Result(ValueTask task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("A synchronous Redis call did not complete synchronously.");
        }

        task.GetAwaiter().GetResult();
    }

    public static bool IsAsync => false;

    public static ValueTask<RedisResult> ScriptEvaluate(IDatabase database, string script, RedisKey[] keys, RedisValue[] values, CancellationToken token)
        => new(database.ScriptEvaluate(script, keys, values));

    public static ValueTask KeyDelete(IDatabase database, RedisKey key)
    {
        database.KeyDelete(key);
        return ValueTask.CompletedTask;
    }

    public static ValueTask<RedisResult> Execute(IServer server, string command, object[] args) => new(server.Execute(command, args));

    /// <summary>
    /// The one place a synchronous caller waits for the client's tasks (a Clear's rounds): sent together, as one
    /// synchronous call per command would cost a round trip each (one per hash slot on a cluster: 20,000 keys on three
    /// shards, 0.15 s pipelined against 1.8 s one by one). It blocks on StackExchange.Redis' own tasks only, completed
    /// by its I/O as its synchronous API completes its own waits, never by continuations on the thread pool: it costs
    /// round trips, not threads, and cannot starve the pool.
    /// </summary>
    public static ValueTask<RedisResult[]> ExecuteAll(List<ServerCommand> commands)
    {
        var calls = commands.ConvertAll(static command => command.Server.ExecuteAsync(command.Command, command.Args)).ToArray();
        try
        {
            Task.WaitAll(calls);
        }
        catch (AggregateException error) when (error.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error.InnerExceptions[0]);
        }

        return new(Array.ConvertAll(calls, static call => call.Result));
    }

    public static ValueTask Subscribe(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        subscriber.Subscribe(channel, handler);
        return ValueTask.CompletedTask;
    }

    public static ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token)
    {
        wait.Wait(delay, token);
        return ValueTask.CompletedTask;
    }
}

internal readonly struct AsyncRedisIo : IRedisIo
{
    public static bool IsAsync => true;

    public static ValueTask<RedisResult> ScriptEvaluate(IDatabase database, string script, RedisKey[] keys, RedisValue[] values, CancellationToken token)
    {
        var call = database.ScriptEvaluateAsync(script, keys, values);
        return new(token.CanBeCanceled ? call.WaitAsync(token) : call);
    }

    public static ValueTask KeyDelete(IDatabase database, RedisKey key) => new(database.KeyDeleteAsync(key));

    public static ValueTask<RedisResult> Execute(IServer server, string command, object[] args) => new(server.ExecuteAsync(command, args));

    public static async ValueTask<RedisResult[]> ExecuteAll(List<ServerCommand> commands)
    {
        var calls = commands.ConvertAll(static command => command.Server.ExecuteAsync(command.Command, command.Args));
        var results = new RedisResult[calls.Count];
        Exception? first = null;
        for (var i = 0; i < calls.Count; i++)
        {
            // Each one awaited, so none fails unobserved.
            try
            {
                results[i] = await calls[i].ConfigureAwait(false);
            }
            catch (Exception error)
            {
                first ??= error;
            }
        }

        if (first is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        return results;
    }

    public static ValueTask Subscribe(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler)
        => new(subscriber.SubscribeAsync(channel, handler));

    public static ValueTask Wait(LockWait wait, TimeSpan delay, CancellationToken token) => new(wait.WaitAsync(delay, token));
}

/// <summary>A command of a round (<see cref="IRedisIo.ExecuteAll"/>).</summary>
internal readonly record struct ServerCommand(IServer Server, string Command, object[] Args);

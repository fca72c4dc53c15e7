using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A multiplexer that forwards everything to a real one, except that its subscriber's <c>SubscribeAsync</c> waits for
/// a gate first: a test can hold a subscribe in flight while something else happens (such as a Dispose).
/// </summary>
public class GatedSubscriber : DispatchProxy
{
    private object _target = null!;
    private Task _gate = Task.CompletedTask;

    public static IConnectionMultiplexer Wrap(IConnectionMultiplexer connection, Task gate)
    {
        var proxy = Create<IConnectionMultiplexer, GatedSubscriber>();
        var gated = (GatedSubscriber)(object)proxy;
        gated._target = connection;
        gated._gate = gate;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(ISubscriber.SubscribeAsync) && _target is ISubscriber subscriber && args is [_, Action<RedisChannel, RedisValue>, _])
        {
            return SubscribeAfterGateAsync(subscriber, (RedisChannel)args![0]!, (Action<RedisChannel, RedisValue>)args[1]!, (CommandFlags)args[2]!);
        }

        object? result;
        try
        {
            result = targetMethod.Invoke(_target, args);
        }
        catch (TargetInvocationException error) when (error.InnerException is { } inner)
        {
            ExceptionDispatchInfo.Throw(inner);
            throw;
        }

        if (targetMethod.Name == nameof(IConnectionMultiplexer.GetSubscriber) && result is ISubscriber real)
        {
            var proxy = Create<ISubscriber, GatedSubscriber>();
            var gated = (GatedSubscriber)(object)proxy;
            gated._target = real;
            gated._gate = _gate;
            return proxy;
        }

        return result;
    }

    private async Task SubscribeAfterGateAsync(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler, CommandFlags flags)
    {
        await _gate;
        await subscriber.SubscribeAsync(channel, handler, flags);
    }
}

using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// Calls the wrapped delegate with arguments packed in a value tuple. Generated per arity, so the
/// keyspace code is written once for every arity. <see cref="CancellationToken"/> parameters receive the
/// execution's shared token instead of the first caller's.
/// </summary>
internal abstract class Invoker<TArgs, TResult>
{
    protected Invoker(int cancellationMask) => CancellationMask = cancellationMask;

    /// <summary>Bit i is set when parameter i is a <see cref="CancellationToken"/>.</summary>
    public int CancellationMask { get; }

    public abstract bool IsAsync { get; }

    public virtual TResult Invoke(in TArgs args, CancellationToken shared) => throw new InvalidOperationException("This function is asynchronous.");

    public virtual Task<TResult> InvokeAsync(in TArgs args, CancellationToken shared) => throw new InvalidOperationException("This function is synchronous.");

    /// <summary>The first cancellable <see cref="CancellationToken"/> among the arguments, if any.</summary>
    public abstract CancellationToken ArgumentToken(in TArgs args);

    /// <summary>Puts <paramref name="shared"/> where the function expects a <see cref="CancellationToken"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static T Arg<T>(int mask, int index, T value, CancellationToken shared)
        => (mask & (1 << index)) != 0 ? Unsafe.As<CancellationToken, T>(ref shared) : value;

    /// <summary>Returns <paramref name="value"/> as a token when parameter <paramref name="index"/> is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static CancellationToken Token<T>(int mask, int index, T value, CancellationToken found)
    {
        if (found.CanBeCanceled || (mask & (1 << index)) == 0)
        {
            return found;
        }

        return Unsafe.As<T, CancellationToken>(ref value);
    }
}

using CachifyNet.Internal;

namespace CachifyNet;

/// <summary>
/// The entry point: <c>Cachify.Wrap(function)</c> returns a cached version of the function.
/// </summary>
/// <remarks>
/// <para>
/// A wrapper is configured with a fluent chain of options (<c>Ttl</c>, <c>NeverDie</c>, <c>IgnoreArgs</c>,
/// <c>NoSelf</c>, <c>KeyBy</c>, <c>Named</c>, <c>Backend</c>); each option returns a new immutable wrapper and the
/// original keeps its settings. Concurrent callers of one key share one execution of the function.
/// </para>
/// <para>
/// Lambdas with typed parameters infer every type: <c>Cachify.Wrap((int id) =&gt; repo.GetUser(id))</c>.
/// Method groups need the type arguments, which C# cannot infer: <c>Cachify.Wrap&lt;int, User&gt;(repo.GetUser)</c>.
/// A function returning <see cref="Task{TResult}"/> gets an asynchronous wrapper. A function whose result is any other task
/// (<see cref="Task"/>, <see cref="ValueTask"/>, <see cref="ValueTask{TResult}"/>, or a <see cref="Task{TResult}"/> given as the
/// result type of a synchronous wrapper) is refused, since its task object would be cached, faults included: convert a
/// <see cref="ValueTask{TResult}"/> with <c>.AsTask()</c> or an <c>async</c> lambda.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var getUser = Cachify.Wrap((int id) =&gt; repo.GetUserAsync(id)).Ttl(TimeSpan.FromMinutes(5)).NeverDie();
/// var user = await getUser.Invoke(42);                   // cached
/// var fresh = await getUser.Invoke(42, skipCache: true); // runs now, refreshes the cache
/// </code>
/// </example>
public static partial class Cachify
{
    private static readonly object Sync = new();
    private static long _defaultTtlTicks = TimeSpan.FromSeconds(300).Ticks;
    private static ICacheBackend? _defaultBackend;

    /// <summary>Gets or sets the TTL of wrappers that do not call <c>Ttl(...)</c>.</summary>
    /// <value>The default is 300 seconds.</value>
    /// <remarks>
    /// A wrapper reads it at its first call (or first <c>Invalidate</c>/<c>Clear</c>), also when it sets its own backend, so it
    /// may be set after wrappers are created (e.g. in static fields). A wrapper keeps the value it read.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive, longer than 365 days, or infinite.</exception>
    public static TimeSpan DefaultTtl
    {
        get => new(Interlocked.Read(ref _defaultTtlTicks));
        set
        {
            Guard.Ttl(value, nameof(value), allowInfinite: false);
            Interlocked.Exchange(ref _defaultTtlTicks, value.Ticks);
        }
    }

    /// <summary>Gets or sets the backend of wrappers that do not call <c>Backend(...)</c>.</summary>
    /// <value>The default is a <see cref="MemoryCacheBackend"/> with no size limit, created at first use.</value>
    /// <remarks>A wrapper reads it at its first call and keeps that backend.</remarks>
    /// <exception cref="ArgumentNullException">The value is null.</exception>
    public static ICacheBackend DefaultBackend
    {
        get
        {
            var backend = Volatile.Read(ref _defaultBackend);
            if (backend is not null)
            {
                return backend;
            }

            lock (Sync)
            {
                return _defaultBackend ??= new MemoryCacheBackend();
            }
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Volatile.Write(ref _defaultBackend, value);
        }
    }
}

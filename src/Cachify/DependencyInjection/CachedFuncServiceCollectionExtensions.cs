using System.Runtime.CompilerServices;
using CachifyNet;
using CachifyNet.DependencyInjection;
using CachifyNet.Internal;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers cached functions of DI services: injectable singletons whose every execution resolves the service from a
/// fresh <see cref="IServiceScope"/>, so scoped services (an EF Core <c>DbContext</c>) can be cached safely.
/// </summary>
/// <remarks>
/// <para>
/// The registered <see cref="AsyncCachedFunc{T1, T2, TResult}"/> (its last argument is the caller's
/// <see cref="CancellationToken"/>, never part of the key) is a singleton built from the app's <see cref="ICachify"/>.
/// Each execution (a caller's miss, a skip-cache call, a never-die refresh) opens its own scope with
/// <c>IServiceScopeFactory.CreateAsyncScope</c>, resolves <c>TService</c> from it and disposes it when the
/// execution ends. Callers that join an execution share it and its scope: a caller that cancels stops waiting without
/// disposing anything the execution uses.
/// </para>
/// <para>
/// Keys hold the arguments only, never a service instance, so the entries are shared by every request and can go to
/// Redis. The function is named <c>Service.Method</c> after the method the lambda calls (set another name with
/// <c>o =&gt; o.Named("...")</c>). The registration is checked when the host starts (options validation), so a setting the
/// backend refuses fails the start rather than the first request. One registration per cached function type: two
/// functions with the same argument and result types need distinct result types.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// services.AddCachify();
/// services.AddScoped&lt;CatalogService&gt;();
/// services.AddCachedFunc&lt;CatalogService, int, Page&gt;(
///     (svc, page, ct) =&gt; svc.GetPageAsync(page, ct),
///     o =&gt; o.Ttl(TimeSpan.FromMinutes(5)).NeverDie());
///
/// // In an endpoint or a controller:
/// app.MapGet("/catalog/{page}", (int page, CancellableAsyncCachedFunc&lt;int, Page&gt; catalog, CancellationToken ct)
///     =&gt; catalog.Invoke(page, ct));
/// </code>
/// </example>
public static class CachedFuncServiceCollectionExtensions
{
    /// <summary>
    /// Registers a cached function of <typeparamref name="TService"/> with one argument: an injectable singleton
    /// <see cref="CancellableAsyncCachedFunc{T1, TResult}"/> (its <c>Invoke</c> takes the caller's token once) whose every execution resolves the
    /// service from its own scope. Needs <c>AddCachify</c> (or a Redis registration) for <see cref="ICachify"/>.
    /// </summary>
    /// <typeparam name="TService">The service whose method is cached; any lifetime (scoped is the usual case).</typeparam>
    /// <typeparam name="T1">The argument, part of the key.</typeparam>
    /// <typeparam name="TResult">The result.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="func">Calls the service, such as <c>(svc, id, ct) =&gt; svc.GetAsync(id, ct)</c>; the token is the execution's.</param>
    /// <param name="configure">Sets the wrapper's options, such as <c>o =&gt; o.Ttl(TimeSpan.FromMinutes(5)).NeverDie()</c>; null keeps the defaults.</param>
    /// <param name="funcExpression">Filled in by the compiler: the text of <paramref name="func"/>, for the default name and messages.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="func"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A cached function of the same type is already registered.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ by generic arity and the function's shape; the optional parameters are the configure step and the compiler-filled expression.")]
    public static IServiceCollection AddCachedFunc<TService, T1, TResult>(
        this IServiceCollection services,
        Func<TService, T1, CancellationToken, Task<TResult>> func,
        Func<CancellableAsyncCachedFunc<T1, TResult>, CancellableAsyncCachedFunc<T1, TResult>>? configure = null,
        [CallerArgumentExpression(nameof(func))] string? funcExpression = null)
        where TService : notnull
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(func);
        var registration = Registration<TService>($"{TypeNames.Short(typeof(T1))}, {TypeNames.Short(typeof(TResult))}", funcExpression);
        return Register(services, registration, provider =>
        {
            var execution = new ScopedExecution<TService, T1, TResult>(provider.GetRequiredService<IServiceScopeFactory>(), func);
            var cached = provider.GetRequiredService<ICachify>().Wrap<T1, TResult>(execution.Run).Named(DefaultName<TService>(funcExpression));
            cached = configure is null ? cached : configure(cached) ?? throw new InvalidOperationException($"The configure argument of {registration} returned null; return the wrapper it was given (o => o.Ttl(...)).");
            return cached.Config.KeyBy is null && cached.Config.KeyHasTarget ? cached.NoSelf() : cached;
        }, static cached => cached.BindNow());
    }

    /// <summary>
    /// Registers a cached function of <typeparamref name="TService"/> with two arguments: an injectable singleton
    /// <see cref="CancellableAsyncCachedFunc{T1, T2, TResult}"/> whose every execution
    /// resolves the service from its own scope.
    /// </summary>
    /// <typeparam name="TService">The service whose method is cached.</typeparam>
    /// <typeparam name="T1">The first argument, part of the key.</typeparam>
    /// <typeparam name="T2">The second argument, part of the key.</typeparam>
    /// <typeparam name="TResult">The result.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="func">Calls the service, such as <c>(svc, a, b, ct) =&gt; svc.GetAsync(a, b, ct)</c>.</param>
    /// <param name="configure">Sets the wrapper's options; null keeps the defaults.</param>
    /// <param name="funcExpression">Filled in by the compiler: the text of <paramref name="func"/>.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="func"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A cached function of the same type is already registered.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "The overloads differ by generic arity and the function's shape; the optional parameters are the configure step and the compiler-filled expression.")]
    public static IServiceCollection AddCachedFunc<TService, T1, T2, TResult>(
        this IServiceCollection services,
        Func<TService, T1, T2, CancellationToken, Task<TResult>> func,
        Func<CancellableAsyncCachedFunc<T1, T2, TResult>, CancellableAsyncCachedFunc<T1, T2, TResult>>? configure = null,
        [CallerArgumentExpression(nameof(func))] string? funcExpression = null)
        where TService : notnull
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(func);
        var registration = Registration<TService>($"{TypeNames.Short(typeof(T1))}, {TypeNames.Short(typeof(T2))}, {TypeNames.Short(typeof(TResult))}", funcExpression);
        return Register(services, registration, provider =>
        {
            var execution = new ScopedExecution<TService, T1, T2, TResult>(provider.GetRequiredService<IServiceScopeFactory>(), func);
            var cached = provider.GetRequiredService<ICachify>().Wrap<T1, T2, TResult>(execution.Run).Named(DefaultName<TService>(funcExpression));
            cached = configure is null ? cached : configure(cached) ?? throw new InvalidOperationException($"The configure argument of {registration} returned null; return the wrapper it was given (o => o.Ttl(...)).");
            return cached.Config.KeyBy is null && cached.Config.KeyHasTarget ? cached.NoSelf() : cached;
        }, static cached => cached.BindNow());
    }

    private static IServiceCollection Register<TCached>(IServiceCollection services, string registration, Func<IServiceProvider, TCached> create, Action<TCached> bind)
        where TCached : class
    {
        if (services.Any(d => d.ServiceType == typeof(TCached)))
        {
            throw new InvalidOperationException(
                $"{registration}: a cached function of type {TypeNames.Short(typeof(TCached))} is already registered, and the type is what callers inject. " +
                "Give one of the functions a distinct result type (a record of its own).");
        }

        services.AddSingleton(create);
        var name = typeof(TCached).FullName ?? typeof(TCached).Name;
        services.AddOptions<CachedFuncCheck>(name).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CachedFuncCheck>>(provider => new CachedFuncCheckValidator(
            provider, name, registration, static (p, state) => ((Action<TCached>)state)(p.GetRequiredService<TCached>()), bind));
        return services;
    }

    private static string Registration<TService>(string types, string? expression)
        => $"AddCachedFunc<{TypeNames.Short(typeof(TService))}, {types}>({expression ?? "..."})";

    /// <summary>
    /// <c>Service.Method</c> after the method the lambda calls (<c>(svc, id) =&gt; svc.GetAsync(id)</c> gives
    /// <c>CatalogService.GetAsync</c>), else the service's name; stable across builds, unlike a lambda's own name.
    /// </summary>
    internal static string DefaultName<TService>(string? expression)
    {
        var service = typeof(TService).Name;
        var tick = service.IndexOf('`', StringComparison.Ordinal);
        service = tick > 0 ? service[..tick] : service;
        var arrow = expression?.IndexOf("=>", StringComparison.Ordinal) ?? -1;
        if (arrow >= 0)
        {
            var body = expression![(arrow + 2)..].Trim();
            if (body.StartsWith("await ", StringComparison.Ordinal))
            {
                body = body[6..].TrimStart();
            }

            var paren = body.IndexOf('(', StringComparison.Ordinal);
            var call = paren > 0 ? body[..paren] : string.Empty;
            var method = call[(call.LastIndexOf('.') + 1)..];
            if (method.Length > 0 && call.All(c => char.IsLetterOrDigit(c) || c is '_' or '.'))
            {
                return service + "." + method;
            }
        }

        return service;
    }
}

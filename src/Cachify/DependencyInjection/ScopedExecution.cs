using Microsoft.Extensions.DependencyInjection;

namespace CachifyNet.DependencyInjection;

/// <summary>
/// The function a cached function registered with <c>AddCachedFunc</c> wraps: each execution (a caller's miss, a
/// skip-cache call, a never-die refresh) opens its own <see cref="AsyncServiceScope"/>, resolves the service from it and
/// disposes it when the execution ends. The execution is shared by the callers that join it, and so is its scope, which
/// no caller owns: a caller that cancels only stops waiting (the execution is cancelled when every caller has gone).
/// One instance per registration, held by the singleton wrapper; it holds nothing of any request.
/// </summary>
internal sealed class ScopedExecution<TService, T1, TResult>(IServiceScopeFactory scopes, Func<TService, T1, CancellationToken, Task<TResult>> func)
    where TService : notnull
{
    public async Task<TResult> Run(T1 arg1, CancellationToken cancellationToken)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var service = scope.ServiceProvider.GetRequiredService<TService>();
            return await func(service, arg1, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>The two-argument form of <see cref="ScopedExecution{TService, T1, TResult}"/>.</summary>
internal sealed class ScopedExecution<TService, T1, T2, TResult>(IServiceScopeFactory scopes, Func<TService, T1, T2, CancellationToken, Task<TResult>> func)
    where TService : notnull
{
    public async Task<TResult> Run(T1 arg1, T2 arg2, CancellationToken cancellationToken)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var service = scope.ServiceProvider.GetRequiredService<TService>();
            return await func(service, arg1, arg2, cancellationToken).ConfigureAwait(false);
        }
    }
}

using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace CachifyNet.Analyzers;

/// <summary>
/// Recognises Cachify's API by name (namespace <c>CachifyNet</c>): the wrappers <c>CachedFunc&lt;…&gt;</c>,
/// <c>AsyncCachedFunc&lt;…&gt;</c> and their <c>Cancellable…</c> forms (functions with a trailing token), the entry points <c>Cachify.Wrap</c> / <c>ICachify.Wrap</c>, and the fluent options
/// (any method, instance or extension, that takes a wrapper and returns a wrapper), and follows a chain back to its Wrap.
/// </summary>
internal static class CachifyApi
{
    private const int MaxChainLength = 64;

    public static bool IsWrapperType(ITypeSymbol? type)
        => type is INamedTypeSymbol { IsGenericType: true } named
           && (named.Name is "CachedFunc" or "AsyncCachedFunc" or "CancellableCachedFunc" or "CancellableAsyncCachedFunc")
           && IsCachifyNamespace(named.ContainingNamespace);

    public static bool IsSyncWrapperType(ITypeSymbol? type) => IsWrapperType(type) && type!.Name is "CachedFunc" or "CancellableCachedFunc";

    public static bool IsWrap(IMethodSymbol method)
        => method.Name == "Wrap" && IsWrapperType(method.ReturnType) && IsCachifyNamespace(method.ContainingType?.ContainingNamespace);

    /// <summary>A fluent option: returns a wrapper and is called on one (<c>w.Ttl(…)</c>, <c>w.UseRedis()</c>).</summary>
    public static bool IsOption(IInvocationOperation invocation)
        => IsWrapperType(invocation.TargetMethod.ReturnType) && IsWrapperType(Receiver(invocation)?.Type);

    /// <summary>The wrapper an option is called on: the instance, or the <c>this</c> argument of an extension.</summary>
    public static IOperation? Receiver(IInvocationOperation invocation)
    {
        if (invocation.Instance is { } instance)
        {
            return instance;
        }

        if (invocation.TargetMethod.IsExtensionMethod)
        {
            foreach (var argument in invocation.Arguments)
            {
                if (argument.Parameter?.Ordinal == 0)
                {
                    return argument.Value;
                }
            }
        }

        return null;
    }

    public static IOperation Unwrap(IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation { IsImplicit: true } conversion:
                    operation = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>
    /// Follows the receiver of <paramref name="option"/> back to its <c>Wrap</c> call, through option calls and through
    /// locals (and same-file fields) initialised with a chain. Returns the options before <paramref name="option"/>, in call
    /// order, and the Wrap call if it was found.
    /// </summary>
    public static (List<IInvocationOperation> Earlier, IInvocationOperation? Wrap) Chain(IInvocationOperation option)
    {
        var earlier = new List<IInvocationOperation>();
        var current = Receiver(option);
        for (var step = 0; current is not null && step < MaxChainLength; step++)
        {
            current = Unwrap(current);
            switch (current)
            {
                case IInvocationOperation invocation when IsWrap(invocation.TargetMethod):
                    earlier.Reverse();
                    return (earlier, invocation);
                case IInvocationOperation invocation when IsOption(invocation):
                    earlier.Add(invocation);
                    current = Receiver(invocation);
                    break;
                case ILocalReferenceOperation local:
                    current = Initializer(local.Local, local);
                    break;
                case IFieldReferenceOperation field:
                    current = Initializer(field.Field, field);
                    break;
                default:
                    current = null;
                    break;
            }
        }

        earlier.Reverse();
        return (earlier, null);
    }

    /// <summary>The initialiser of a local or field declared in the same file, as an operation.</summary>
    private static IOperation? Initializer(ISymbol symbol, IOperation reference)
    {
        if (symbol.DeclaringSyntaxReferences.Length != 1 || reference.SemanticModel is not { } model)
        {
            return null;
        }

        var syntax = symbol.DeclaringSyntaxReferences[0];
        if (syntax.SyntaxTree != model.SyntaxTree
            || syntax.GetSyntax() is not VariableDeclaratorSyntax { Initializer.Value: { } value })
        {
            return null;
        }

        return model.GetOperation(value);
    }

    /// <summary>
    /// The parameter names of the function given to <c>Wrap</c>, as Cachify sees them at run time, or null when the
    /// argument is not a lambda, anonymous method or method group (a delegate variable, say).
    /// </summary>
    public static IReadOnlyList<string>? WrappedParameterNames(IInvocationOperation wrap)
    {
        var function = WrappedFunction(wrap);
        IMethodSymbol? method = function switch
        {
            IAnonymousFunctionOperation lambda => lambda.Symbol,
            IMethodReferenceOperation reference => reference.Method.ReducedFrom ?? reference.Method,
            _ => null,
        };

        return method?.Parameters.Select((p, i) => p.Name.Length > 0 ? p.Name : "arg" + (i + 1)).ToList();
    }

    /// <summary>The lambda or method reference passed to Wrap (after the delegate creation), or null.</summary>
    public static IOperation? WrappedFunction(IInvocationOperation wrap)
    {
        var argument = wrap.Arguments.FirstOrDefault(a => a.Parameter?.Name == "func")
            ?? wrap.Arguments.LastOrDefault();
        if (argument is null)
        {
            return null;
        }

        return Unwrap(argument.Value) is IDelegateCreationOperation creation ? creation.Target : null;
    }

    public static string MethodName(IInvocationOperation invocation) => invocation.TargetMethod.Name;

    private static bool IsCachifyNamespace(INamespaceSymbol? ns)
        => ns is { Name: "CachifyNet", ContainingNamespace.IsGlobalNamespace: true };
}

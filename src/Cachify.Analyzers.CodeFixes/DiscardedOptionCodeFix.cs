using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CachifyNet.Analyzers;

/// <summary>CACHIFY001: <c>w.Ttl(x);</c> becomes <c>w = w.Ttl(x);</c> when <c>w</c> is a local, parameter, field or property that can be assigned.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DiscardedOptionCodeFix))]
[Shared]
public sealed class DiscardedOptionCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.DiscardedOption.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return;
        }

        foreach (var diagnostic in context.Diagnostics)
        {
            // The diagnostic sits on the name of the statement's outermost call (a statement, an expression body, a lambda body).
            var call = root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<InvocationExpressionSyntax>();
            if (call is null || Target(call, model, context.CancellationToken) is not { } target)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Assign the new wrapper to '{target}'",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(call, AssignBack(call, target)))),
                    equivalenceKey: nameof(DiscardedOptionCodeFix)),
                diagnostic);
        }
    }

    private static AssignmentExpressionSyntax AssignBack(ExpressionSyntax expression, ExpressionSyntax target)
        => SyntaxFactory.AssignmentExpression(
                SyntaxKind.SimpleAssignmentExpression,
                target.WithoutTrivia().WithTrailingTrivia(SyntaxFactory.Space),
                SyntaxFactory.Token(SyntaxKind.EqualsToken).WithTrailingTrivia(SyntaxFactory.Space),
                expression.WithoutTrivia())
            .WithTriviaFrom(expression);

    /// <summary>The variable at the start of the chain, if the chain's result can be assigned back to it.</summary>
    private static ExpressionSyntax? Target(ExpressionSyntax expression, SemanticModel model, CancellationToken cancellationToken)
    {
        var current = expression;
        while (Strip(current) is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax member })
        {
            current = member.Expression;
        }

        current = Strip(current);
        if (current is not (IdentifierNameSyntax or MemberAccessExpressionSyntax))
        {
            return null;
        }

        var targetType = model.GetTypeInfo(current, cancellationToken).Type;
        var resultType = model.GetTypeInfo(expression, cancellationToken).Type;
        if (targetType is null || !SymbolEqualityComparer.Default.Equals(targetType, resultType))
        {
            return null;
        }

        var position = expression.SpanStart;
        var assignable = model.GetSymbolInfo(current, cancellationToken).Symbol switch
        {
            ILocalSymbol local => !local.IsConst && !local.IsUsing && !local.IsForEach && !local.IsFixed && local.RefKind == RefKind.None,
            IParameterSymbol parameter => parameter.RefKind is RefKind.None or RefKind.Ref or RefKind.Out,
            IFieldSymbol field => !field.IsConst && (!field.IsReadOnly || InConstructorOf(field.ContainingType, field.IsStatic, model, position)),
            IPropertySymbol property => property.SetMethod is { } setter && model.IsAccessible(position, setter)
                && (!setter.IsInitOnly || InConstructorOf(property.ContainingType, property.IsStatic, model, position)),
            _ => false,
        };
        return assignable ? current : null;
    }

    private static ExpressionSyntax Strip(ExpressionSyntax expression)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
        {
            expression = parenthesized.Expression;
        }

        return expression;
    }

    private static bool InConstructorOf(INamedTypeSymbol type, bool isStatic, SemanticModel model, int position)
        => model.GetEnclosingSymbol(position) is IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor } method
           && method.IsStatic == isStatic
           && SymbolEqualityComparer.Default.Equals(method.ContainingType, type)
           && type.DeclaringSyntaxReferences.Any();
}

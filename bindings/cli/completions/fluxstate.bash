# bash completion for fluxstate(1)                          -*- shell-script -*-
# SPDX-License-Identifier: MIT

_fluxstate_kubeconfig_names()
{
	# Contexts, clusters or users of the kubeconfig on the command line (or
	# the default one), as kubectl lists them; nothing if kubectl is absent.
	local what=$1 i kubeconfig=()
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		case ${COMP_WORDS[i]} in
		--kubeconfig=*) kubeconfig=(--kubeconfig "${COMP_WORDS[i]#--kubeconfig=}") ;;
		--kubeconfig) kubeconfig=(--kubeconfig "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	command -v kubectl >/dev/null 2>&1 || return 0
	case $what in
	contexts) kubectl config get-contexts "${kubeconfig[@]}" -o name 2>/dev/null ;;
	clusters) kubectl config get-clusters "${kubeconfig[@]}" 2>/dev/null | tail -n +2 ;;
	users) kubectl config get-users "${kubeconfig[@]}" 2>/dev/null | tail -n +2 ;;
	esac
}

_fluxstate()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -s || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi

	local states="none residual partial healthy unknown"
	case $prev in
	--kubeconfig)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--context)
		COMPREPLY=($(compgen -W "$(_fluxstate_kubeconfig_names contexts)" -- "$cur"))
		return ;;
	--cluster)
		COMPREPLY=($(compgen -W "$(_fluxstate_kubeconfig_names clusters)" -- "$cur"))
		return ;;
	--user)
		COMPREPLY=($(compgen -W "$(_fluxstate_kubeconfig_names users)" -- "$cur"))
		return ;;
	-o | --output)
		COMPREPLY=($(compgen -W "text json yaml" -- "$cur"))
		return ;;
	--certificate-authority | --client-certificate | --client-key)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--request-timeout)
		COMPREPLY=($(compgen -W "0 5s 30s 1m" -- "$cur"))
		return ;;
	--flux-version | --token | --as | --as-group | --as-uid)
		return ;;
	--expect | --wait-for)
		# comma-separated list: complete the last item
		local prefix=${cur%"${cur##*,}"}
		COMPREPLY=($(compgen -P "$prefix" -W "$states" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return ;;
	--dry-run)
		COMPREPLY=($(compgen -W "server" -- "$cur"))
		return ;;
	--timeout)
		COMPREPLY=($(compgen -W "30s 1m 2m 5m 10m" -- "$cur"))
		return ;;
	-n | --namespace | -s | --server | --tls-server-name)
		return ;;
	esac

	local opts="--kubeconfig --context --cluster --user --server --tls-server-name
		--insecure-skip-tls-verify --certificate-authority --client-certificate
		--client-key --token --as --as-group --as-uid --request-timeout
		--disable-compression --namespace --timeout --output --no-color --verbose
		--quiet --expect --wait-for --all-contexts --flux-version --force
		--keep-namespace --yes --dry-run --help --version"
	local i command=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		check | config | cleanup-plan | cleanup) command=${COMP_WORDS[i]} ;;
		esac
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -z $command ]]; then
		COMPREPLY=($(compgen -W "check config cleanup-plan cleanup" -- "$cur"))
	fi
} &&
	complete -F _fluxstate fluxstate

# ex: filetype=sh

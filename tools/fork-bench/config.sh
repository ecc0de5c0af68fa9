# Sourced by run.sh, restart.sh and tools/soak.sh: where the build is, and
# the loopback voxforkd configuration of the forked-call benchmarks. Calls to 6777 come in on dial-peer 900 and go
# out on 901 to the bench's UAS; media class 9 forks them with stream-service
# profile 99.
#
#   bench_config FILE NAME SOCKET SIP_PORT UAS_PORT RTP_MIN RTP_MAX THRESHOLD [PROFILE_LINES]
#
# PROFILE_LINES (one argument, lines separated by newlines, each starting with
# a space) go at the end of the profile: protocol, reconnect window.
# The build directory, absolute: BUILD (default build/), relative to the
# source tree the caller set in $root.
build=${BUILD:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

bench_config() {
    cat > "$1" <<CONF
hostname $2
control-socket $3
voice service voip
 rtp-port range $6 $7
 ip address trusted list
  ipv4 127.0.0.1
 sip
  bind control source-address 127.0.0.1
  bind media source-address 127.0.0.1
  listen-port non-secure $4
!
dial-peer voice 900 voip
 session protocol sipv2
 incoming called-number 6777
!
dial-peer voice 901 voip
 destination-pattern 6777
 session protocol sipv2
 session target ipv4:127.0.0.1:$5
 session transport udp
 media-class 9
!
media profile stream-service 99
 connection calls-threshold $8
 connection idle-timeout 30
${9:-}
!
media class 9
 stream-service profile 99
!
CONF
}
